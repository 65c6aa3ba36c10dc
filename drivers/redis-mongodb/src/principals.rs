//! [`MongoStore`]'s principal index: documents of two more kinds in the
//! sessions' collection, found through a sparse index on `p`.
//!
//! - an entry per bound session: `_id` `p:<principal hash>:<handle>`, `p` the
//!   principal hash, `e` the entry (`IndexEntry::to_bytes`), `exp` its expiry;
//! - the principal's revocations: `_id` `r:<principal hash>`, `p`, `nb`/`nk`
//!   (sessions bound at or before `nb` are revoked, until `nk`), `ex` (the
//!   handle `nb` spares), `d` (revoked handles → until when), `exp` the
//!   latest of those lifetimes.
//!
//! `exp` is a BSON date like a session's, so the collection's TTL index
//! sweeps these documents too, and session ids (hex) never collide with
//! their `_id`s. A listing is one `find` on `p` (the index), a binding one
//! upsert then one read of the revocations.

use futures_util::TryStreamExt;
use mongodb::Collection;
use mongodb::IndexModel;
use mongodb::bson::spec::BinarySubtype;
use mongodb::bson::{Binary, Bson, Document, doc};
use mongodb::options::IndexOptions;
use tiered_sessions::{
    CleanupBatch, CleanupCursor, Error, IndexEntry, PrincipalHash, PrincipalIndex,
    PrincipalSessions, Result, Revocation, Revocations, SessionHandle, UnixTime, async_trait,
};

use crate::document::{EXPIRES, ID, date, int};
use crate::error::{self, DUPLICATE_KEY};
use crate::store::{MAX_CLEANUP_BATCH, MongoStore};

/// The field principal documents are found by, and its index's name.
pub(crate) const P: &str = "p";
/// The name of the sparse index on `p` that listings use.
pub(crate) const PRINCIPAL_INDEX: &str = "principal";

fn entry_id(p: &PrincipalHash, h: &SessionHandle) -> String {
    format!("p:{}:{}", p.as_str(), h.to_text())
}

fn revocations_id(p: &PrincipalHash) -> String {
    format!("r:{}", p.as_str())
}

fn number(d: &Document, field: &str) -> Result<u64> {
    match d.get(field) {
        None => Ok(0),
        Some(Bson::Int64(n)) => Ok(u64::try_from(*n).unwrap_or(0)),
        Some(Bson::Int32(n)) => Ok(u64::try_from(*n).unwrap_or(0)),
        Some(_) => Err(Error::codec(format!(
            "principal field `{field}` is not an integer"
        ))),
    }
}

fn parse_revocations(d: &Document, now: UnixTime) -> Result<Revocations> {
    let mut r = Revocations::default();
    if number(d, "nk")? > now {
        r.not_before = number(d, "nb")?;
        if let Ok(hex) = d.get_str("ex") {
            r.except = Some(SessionHandle::parse(hex)?);
        }
    }
    if let Ok(denied) = d.get_document("d") {
        for (hex, _) in denied {
            let until = number(denied, hex)?;
            if until > now {
                r.denied.push((SessionHandle::parse(hex)?, until));
            }
        }
    }
    Ok(r)
}

fn parse_entry(d: &Document) -> Result<IndexEntry> {
    let id = d.get_str(ID).map_err(Error::codec)?;
    let hex = id
        .rsplit(':')
        .next()
        .ok_or_else(|| Error::codec("malformed principal entry id"))?;
    let Some(Bson::Binary(bytes)) = d.get("e") else {
        return Err(Error::codec("malformed principal entry"));
    };
    IndexEntry::from_bytes(SessionHandle::parse(hex)?, &bytes.bytes)
}

impl MongoStore {
    fn documents(&self) -> Collection<Document> {
        self.collection().clone_with_type()
    }

    /// Create the sparse index on `p` that listings use, unless it exists.
    pub(crate) async fn ensure_principal_index(&self) -> Result<()> {
        let model = IndexModel::builder()
            .keys(doc! { P: 1 })
            .options(
                IndexOptions::builder()
                    .name(PRINCIPAL_INDEX.to_owned())
                    .sparse(true)
                    .build(),
            )
            .build();
        self.collection()
            .create_index(model)
            .await
            .map(drop)
            .map_err(error::map)
    }
}

#[async_trait]
impl PrincipalIndex for MongoStore {
    async fn put_session(
        &self,
        principal: &PrincipalHash,
        entry: &IndexEntry,
        now: UnixTime,
    ) -> Result<Revocations> {
        let docs = self.documents();
        let bytes = Binary {
            subtype: BinarySubtype::Generic,
            bytes: entry.to_bytes(),
        };
        docs.update_one(
            doc! { ID: entry_id(principal, &entry.handle) },
            doc! { "$set": { P: principal.as_str(), "e": bytes, EXPIRES: date(entry.expires_at) } },
        )
        .upsert(true)
        .await
        .map_err(error::map)?;
        // Read after the write: a revocation this misses was recorded after
        // the entry, so the revoking call's listing sees the entry.
        self.revocations(principal, now).await
    }

    async fn load_principal(
        &self,
        principal: &PrincipalHash,
        now: UnixTime,
    ) -> Result<PrincipalSessions> {
        let found: Vec<Document> = self
            .documents()
            .find(doc! { P: principal.as_str() })
            .await
            .map_err(error::map)?
            .try_collect()
            .await
            .map_err(error::map)?;
        let mut out = PrincipalSessions::default();
        for d in &found {
            if d.get_str(ID).is_ok_and(|id| id.starts_with("r:")) {
                out.revocations = parse_revocations(d, now)?;
            } else {
                let entry = parse_entry(d)?;
                if !entry.is_expired(now) {
                    out.sessions.push(entry);
                }
            }
        }
        Ok(out)
    }

    async fn revocations(&self, principal: &PrincipalHash, now: UnixTime) -> Result<Revocations> {
        let found = self
            .documents()
            .find_one(doc! { ID: revocations_id(principal) })
            .await
            .map_err(error::map)?;
        match found {
            Some(d) => parse_revocations(&d, now),
            None => Ok(Revocations::default()),
        }
    }

    async fn remove_session(
        &self,
        principal: &PrincipalHash,
        handle: &SessionHandle,
        _now: UnixTime,
    ) -> Result<()> {
        self.documents()
            .delete_one(doc! { ID: entry_id(principal, handle) })
            .await
            .map(drop)
            .map_err(error::map)
    }

    async fn revoke(
        &self,
        principal: &PrincipalHash,
        revocation: &Revocation,
        keep_until: UnixTime,
        _now: UnixTime,
    ) -> Result<()> {
        let id = revocations_id(principal);
        let keep = date(keep_until);
        let (filter, update) = match revocation {
            Revocation::AllBefore { at, except } => {
                let filter = doc! {
                    ID: &id,
                    "$or": [{ "nb": { "$exists": false } }, { "nb": { "$lte": int(*at) } }],
                };
                let mut set = doc! { P: principal.as_str(), "nb": int(*at), "nk": int(keep_until) };
                let mut update = doc! { "$max": { EXPIRES: keep } };
                match except {
                    Some(h) => {
                        set.insert("ex", h.to_text());
                    }
                    None => {
                        update.insert("$unset", doc! { "ex": "" });
                    }
                }
                update.insert("$set", set);
                (filter, update)
            }
            Revocation::One { handle } => (
                doc! { ID: &id },
                doc! {
                    "$set": { P: principal.as_str(), format!("d.{}", handle.to_text()): int(keep_until) },
                    "$max": { EXPIRES: keep },
                },
            ),
        };
        match self
            .documents()
            .update_one(filter, update)
            .upsert(true)
            .await
        {
            Ok(_) => Ok(()),
            // The filter refused a newer "revoked before", so the upsert
            // tried to insert a second document: the newer one covers this.
            Err(e) if error::code(&e) == Some(DUPLICATE_KEY) => Ok(()),
            Err(e) => Err(error::map(e)),
        }
    }

    async fn delete_expired_index(
        &self,
        now: UnixTime,
        max: usize,
        cursor: Option<CleanupCursor>,
    ) -> Result<CleanupBatch> {
        let batch = max.clamp(1, MAX_CLEANUP_BATCH);
        let mut filter = doc! { P: { "$exists": true }, EXPIRES: { "$lte": date(now) } };
        if let Some(CleanupCursor(after)) = &cursor {
            filter.insert(ID, doc! { "$gt": after.as_str() });
        }
        let found: Vec<Document> = self
            .documents()
            .find(filter)
            .sort(doc! { ID: 1 })
            .limit(i64::try_from(batch).unwrap_or(i64::MAX))
            .projection(doc! { ID: 1 })
            .await
            .map_err(error::map)?
            .try_collect()
            .await
            .map_err(error::map)?;
        let ids: Vec<String> = found
            .iter()
            .filter_map(|d| d.get_str(ID).ok().map(str::to_owned))
            .collect();
        let Some(last) = ids.last().cloned() else {
            return Ok(CleanupBatch::default());
        };
        let full = found.len() >= batch;
        let entries = ids.iter().filter(|id| id.starts_with("p:")).count() as u64;
        let ids: Vec<Bson> = ids.into_iter().map(Bson::String).collect();
        // Re-check expiry: an entry rewritten since the scan stays.
        let deleted = self
            .documents()
            .delete_many(doc! { ID: { "$in": ids }, EXPIRES: { "$lte": date(now) } })
            .await
            .map_err(error::map)?
            .deleted_count;
        Ok(CleanupBatch {
            deleted: deleted.min(entries),
            next: full.then_some(CleanupCursor(last)),
        })
    }
}
