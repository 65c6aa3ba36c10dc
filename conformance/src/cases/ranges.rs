//! The range of numbers a store keeps: versions and times are `u64`, and a
//! store whose backend holds less must say so with an error, never wrap.

use tiered_sessions::{Durability, Error, SessionStore};

use super::check::{expect_err, same};
use super::sample;
use crate::case_error::{CaseError, During, ensure};
use crate::{Capabilities, Fixture};

/// The latest second of the year 9999: every store keeps times up to here exactly.
const YEAR_9999: u64 = 253_402_300_799;

/// Versions up to `i64::MAX` round-trip exactly; one past it either
/// round-trips too or is refused with `Error::Codec` (a store on signed 64-bit
/// columns), never stored wrapped or saturated. Times up to the end of the
/// year 9999 round-trip exactly, and a later expiry keeps the record live.
///
/// # Errors
/// A [`CaseError`] naming the broken clause.
pub async fn versions_and_times_keep_their_range(
    fx: &Fixture,
    _caps: &Capabilities,
) -> Result<(), CaseError> {
    let s = &fx.store;
    let now = sample::now();
    let top = i64::MAX as u64;
    let k = sample::key()?;
    let mut r = sample::record(top - 1, now, 600, &[("a", b"1")]);
    r.created_at = now - 1;
    s.create(&k, &r, now)
        .await
        .during("creating version i64::MAX - 1")?;
    let got = s
        .load(&k, now)
        .await
        .during("loading version i64::MAX - 1")?;
    same(got.as_ref(), Some(&r), "a record at version i64::MAX - 1")?;
    let at_top = sample::next(&r, now, "a", b"2");
    s.save(&k, &at_top, top - 1, Durability::Durable, now)
        .await
        .during("saving version i64::MAX")?;
    let got = s.load(&k, now).await.during("loading version i64::MAX")?;
    same(got.as_ref(), Some(&at_top), "a record at version i64::MAX")?;
    let past = sample::next(&at_top, now, "a", b"3");
    match s.save(&k, &past, top, Durability::Durable, now).await {
        Ok(()) => {
            let got = s
                .load(&k, now)
                .await
                .during("loading version i64::MAX + 1")?;
            same(
                got.as_ref(),
                Some(&past),
                "a record saved at version i64::MAX + 1",
            )?;
        }
        Err(Error::Codec { .. }) => {
            let got = s
                .load(&k, now)
                .await
                .during("loading after a refused save")?;
            same(
                got.as_ref(),
                Some(&at_top),
                "the record after a save at i64::MAX + 1 was refused",
            )?;
        }
        Err(e) => {
            return Err(CaseError::violation(format!(
                "a save at version i64::MAX + 1 failed with {e:?}: it must round-trip or be refused with Error::Codec"
            )));
        }
    }
    expect_err!(
        s.save(
            &k,
            &sample::next(&past, now, "a", b"4"),
            u64::MAX,
            Durability::Durable,
            now
        )
        .await,
        Error::Codec { .. },
        "a save whose version does not grow past u64::MAX"
    );

    let k = sample::key()?;
    let mut far = sample::record(1, now, 0, &[("a", b"1")]);
    far.expires_at = YEAR_9999;
    far.last_active = YEAR_9999 - 1;
    s.create(&k, &far, now)
        .await
        .during("creating a record expiring in 9999")?;
    let got = s
        .load(&k, now)
        .await
        .during("loading a record expiring in 9999")?;
    same(
        got.as_ref(),
        Some(&far),
        "a record expiring at the end of 9999",
    )?;
    let k = sample::key()?;
    let mut never = sample::record(1, now, 0, &[("a", b"1")]);
    never.expires_at = u64::MAX;
    s.create(&k, &never, now)
        .await
        .during("creating a record expiring at u64::MAX")?;
    let got = s
        .load(&k, now)
        .await
        .during("loading a record expiring at u64::MAX")?;
    ensure!(
        got.as_ref()
            .is_some_and(|g| g.expires_at >= YEAR_9999 && g.data == never.data),
        "a record expiring at u64::MAX came back as {got:?}: it must stay live (saturating is fine)"
    );
    Ok(())
}
