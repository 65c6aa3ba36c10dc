//! [`Tracked`]: a chaos client that remembers what it was promised — every
//! write answered 2xx, every logout answered 2xx — and checks each read
//! against it: a 2xx read holds every acknowledged write and nothing that was
//! never attempted, and an ended session never shows data again.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use http::Method;
use tiered_sessions_conformance::kit::Jar;

use crate::app::Listing;
use crate::client::Client;
use crate::figures::{Outcome, Tally};
use crate::rng::Rng;

/// How long a client keeps retrying a 503 once the servers are back, before
/// the run counts the service as never recovered (a liveness bound).
pub const RECOVERY: Duration = Duration::from_secs(60);

/// One browser and what it was promised.
pub struct Tracked {
    id: usize,
    client: Client,
    replay: Client,
    rng: Rng,
    seq: u64,
    /// Writes of the current session answered 2xx.
    acked: BTreeMap<String, String>,
    /// Writes of the current session sent (answered or not).
    attempted: BTreeSet<String>,
    /// The last counter value answered 2xx in the current session.
    floor: u64,
    /// Increments of the current session sent.
    increments: u64,
    /// Cookies of sessions whose logout was answered 2xx.
    ended: Vec<Jar>,
    /// When each 503 was answered.
    pub unavailable_at: Vec<Instant>,
    /// Acknowledged writes found missing or changed.
    pub lost: u64,
    /// Writes racing a logout that were refused (503) because the logout won.
    pub raced: u64,
    /// Ended sessions found with data.
    pub resurrected: u64,
}

impl Tracked {
    /// Client `id` of the app at `addr`, its choices drawn from `seed`.
    pub fn new(addr: SocketAddr, id: usize, seed: u64) -> Tracked {
        Tracked {
            id,
            client: Client::new(addr),
            replay: Client::new(addr),
            rng: Rng::fork(seed, id as u64),
            seq: 0,
            acked: BTreeMap::new(),
            attempted: BTreeSet::new(),
            floor: 0,
            increments: 0,
            ended: Vec::new(),
            unavailable_at: Vec::new(),
            lost: 0,
            raced: 0,
            resurrected: 0,
        }
    }

    fn what(&self, op: &str) -> String {
        format!("client {}: {op}", self.id)
    }

    /// Count a reply; after a 503, pause a little as a person would before
    /// trying again (so an outage is not a busy loop).
    async fn count(
        &mut self,
        op: &str,
        sent: &Result<crate::client::Reply, String>,
        tally: &Tally,
    ) -> Outcome {
        let outcome = tally.count(&self.what(op), sent);
        if outcome == Outcome::Unavailable {
            self.unavailable_at.push(Instant::now());
            let pause = self
                .rng
                .millis(Duration::from_millis(50), Duration::from_millis(150));
            tokio::time::sleep(pause).await;
        }
        outcome
    }

    /// One random operation: a write (half), a read of everything, an
    /// increment, or now and then a logout.
    pub async fn step(&mut self, tally: &Tally) {
        match self.rng.below(100) {
            0..50 => {
                self.write(tally).await;
            }
            50..80 => {
                self.read(tally, "GET /all").await;
            }
            80..96 => self.increment(tally).await,
            _ => self.logout(tally).await,
        }
    }

    /// A new key of the current session.
    pub async fn write(&mut self, tally: &Tally) -> Outcome {
        self.seq += 1;
        let (name, value) = (
            format!("c{}s{}", self.id, self.seq),
            format!("{}.{}", self.id, self.seq),
        );
        self.attempted.insert(name.clone());
        let path = format!("/kv/{name}");
        let sent = self
            .client
            .send(Method::PUT, &path, Some(value.clone()))
            .await;
        let outcome = self.count(&format!("PUT {path}"), &sent, tally).await;
        if outcome == Outcome::Ok {
            tally.acked();
            self.acked.insert(name, value);
        }
        outcome
    }

    async fn increment(&mut self, tally: &Tally) {
        self.increments += 1;
        let sent = self.client.send(Method::POST, "/incr", None).await;
        if self.count("POST /incr", &sent, tally).await == Outcome::Ok {
            tally.acked();
            let n = sent.map_or(0, |r| r.body.parse().unwrap_or(0));
            if n <= self.floor || n > self.increments {
                tally.problem(self.what(&format!(
                    "increment answered {n}: acknowledged up to {}, {} sent",
                    self.floor, self.increments
                )));
            }
            self.floor = n;
        }
    }

    /// Read the whole session; when answered 2xx, check it against the
    /// promises. Returns the outcome.
    pub async fn read(&mut self, tally: &Tally, op: &str) -> Outcome {
        let sent = self.client.send(Method::GET, "/all", None).await;
        let outcome = self.count(op, &sent, tally).await;
        if outcome == Outcome::Ok {
            let body = sent.map(|r| r.body).unwrap_or_default();
            self.check(tally, op, &body);
        }
        outcome
    }

    fn check(&mut self, tally: &Tally, op: &str, body: &str) {
        let Some(listing) = Listing::parse(body) else {
            tally.problem(self.what(&format!("{op}: unreadable listing {body:?}")));
            return;
        };
        for (name, value) in &self.acked {
            if listing.named.get(name) != Some(value) {
                self.lost += 1;
                tally.problem(self.what(&format!(
                    "{op}: acknowledged {name}={value} reads {:?}",
                    listing.named.get(name)
                )));
            }
        }
        if let Some(stranger) = listing.named.keys().find(|k| !self.attempted.contains(*k)) {
            tally.problem(self.what(&format!(
                "{op}: {stranger} was never written to this session"
            )));
        }
        if listing.counter < self.floor || listing.counter > self.increments {
            tally.problem(self.what(&format!(
                "{op}: counter {} outside acknowledged {} ..= sent {}",
                listing.counter, self.floor, self.increments
            )));
        }
    }

    /// Log out, retrying 503s (for at most [`RECOVERY`]); on 2xx the old
    /// cookie must read an empty session from then on.
    async fn logout(&mut self, tally: &Tally) {
        let old = self.client.jar().clone();
        let until = Instant::now() + RECOVERY;
        // Half the time a write on the same session races the logout (a
        // second tab): whichever lands first, the session must stay ended.
        let mut race = !old.is_empty() && self.rng.percent(50);
        loop {
            let sent = if race {
                race = false;
                self.replay.set_jar(old.clone());
                let late = format!("/kv/c{}late{}", self.id, self.seq);
                let (bye, write) = tokio::join!(
                    self.client.send(Method::POST, "/logout", None),
                    self.replay.send(Method::PUT, &late, Some("late".into())),
                );
                // A write that lands after the logout is refused with a 503
                // by design (`Error::Ended`): counted, but not an outage.
                let what = self.what(&format!("PUT {late} racing a logout"));
                if tally.count(&what, &write) == Outcome::Unavailable {
                    self.raced += 1;
                }
                bye
            } else {
                self.client.send(Method::POST, "/logout", None).await
            };
            match self.count("POST /logout", &sent, tally).await {
                Outcome::Ok => break,
                Outcome::Unavailable if Instant::now() < until => {}
                _ => {
                    tally.problem(self.what("a logout was never acknowledged"));
                    return;
                }
            }
        }
        tally.logged_out();
        if !self.client.jar().is_empty() {
            tally.problem(self.what("the logout left a cookie"));
        }
        self.acked.clear();
        self.attempted.clear();
        (self.floor, self.increments) = (0, 0);
        if !old.is_empty() {
            self.ended.push(old);
            self.replay_ended(tally, self.ended.len() - 1).await;
        }
    }

    /// Replay the cookie of ended session `i`: a 2xx must show no data.
    async fn replay_ended(&mut self, tally: &Tally, i: usize) -> Outcome {
        self.replay.set_jar(self.ended[i].clone());
        let sent = self.replay.send(Method::GET, "/all", None).await;
        let outcome = self
            .count("GET /all with an ended session's cookie", &sent, tally)
            .await;
        if outcome == Outcome::Ok {
            let body = sent.map(|r| r.body).unwrap_or_default();
            if !body.is_empty() {
                self.resurrected += 1;
                tally.problem(self.what(&format!("an ended session came back: {body:?}")));
            }
        }
        outcome
    }

    /// Once the servers are back: read until a 2xx (503s allowed for at most
    /// [`RECOVERY`]) and check it; replay every ended session's cookie the
    /// same way; then write until a 2xx, the same way (a write to a stored
    /// session is refused while the cache's circuit is still open, up to its
    /// cool-down after the cache answers again), and read, which must succeed.
    pub async fn verify(&mut self, tally: &Tally, when: &str) {
        let until = Instant::now() + RECOVERY;
        let op = format!("GET /all {when}");
        loop {
            match self.read(tally, &op).await {
                Outcome::Unavailable if Instant::now() < until => {}
                Outcome::Unavailable => {
                    tally.problem(self.what(&format!("{op}: still 503 after {RECOVERY:?}")));
                    return;
                }
                _ => break,
            }
        }
        for i in 0..self.ended.len() {
            while self.replay_ended(tally, i).await == Outcome::Unavailable
                && Instant::now() < until
            {}
        }
        let mut wrote = self.write(tally).await;
        while wrote == Outcome::Unavailable && Instant::now() < until {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            wrote = self.write(tally).await;
        }
        let read = self
            .read(tally, &format!("GET /all after a write {when}"))
            .await;
        if (wrote, read) != (Outcome::Ok, Outcome::Ok) {
            tally.problem(self.what(&format!(
                "the service was back, yet a request {when} failed"
            )));
        }
    }
}
