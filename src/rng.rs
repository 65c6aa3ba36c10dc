//! Random bytes for session ids, encryption nonces and retry jitter: a
//! per-thread ChaCha20 generator seeded from the operating system.
//!
//! A `getrandom` system call per id cost more than the rest of a new cookie
//! session; this generator costs a copy out of a thread-local buffer, plus one
//! ChaCha20 batch every 31 ids.
//!
//! # Design: fast key erasure
//!
//! The construction is D. J. Bernstein's "fast-key-erasure RNG" (2017), the
//! one Linux's own `getrandom` has used since 5.17:
//!
//! - Each thread holds a 256-bit key, first drawn from the OS.
//! - A refill runs ChaCha20 (20 rounds, nonce 0) under that key for one batch
//!   of [`BATCH`] bytes. The first 32 bytes at once replace the key; the rest
//!   is handed out, and every byte is wiped from the buffer as it leaves.
//!   Each key thus encrypts exactly one batch, and once a batch is drawn
//!   nothing left in memory can recompute the output already handed out
//!   (backtracking resistance). The cipher state is wiped when dropped.
//! - Every [`RESEED_BATCHES`] batches (64 KiB of output), 32 fresh bytes from
//!   the OS are mixed (XOR) into the key, so whoever read a thread's state at
//!   one moment cannot predict its output for more than that much longer.
//!   A failing OS source fails the call; it is never papered over.
//!
//! # Why it suits 256-bit session ids
//!
//! ChaCha20 under a secret, uniformly random 256-bit key is a pseudorandom
//! function: its keystream cannot be told apart from random bytes without the
//! key (the assumption the cookie encryption already rests on). Keys come
//! only from the OS and from earlier keystream, so an id is as hard to guess
//! as a 256-bit key, and ids never repeat between threads or batches (each
//! thread's key is independent, each batch's key is new).
//!
//! Like `rand::ThreadRng`, the generator does not notice `fork()`: a child
//! process forked by a thread that already drew bytes would repeat that
//! thread's next output. Fork worker processes before they serve requests.

use std::cell::RefCell;

use chacha20::ChaCha20;
use chacha20::cipher::{KeyIvInit, StreamCipher};

use crate::error::{Error, Result};

/// Bytes of keystream per refill: 16 ChaCha20 blocks (the SIMD backends
/// compute four at a time). 32 become the next key, 992 are output.
const BATCH: usize = 1024;
const KEY_LEN: usize = 32;
/// Batches between two reseeds from the OS.
const RESEED_BATCHES: u32 = 64;

struct Generator {
    key: [u8; KEY_LEN],
    buf: [u8; BATCH],
    /// The next unread byte of `buf`; `BATCH` when it is used up.
    pos: usize,
    /// Refills left before the key takes fresh OS bytes; 0 before the first seed.
    until_reseed: u32,
}

thread_local! {
    static GENERATOR: RefCell<Generator> = const {
        RefCell::new(Generator {
            key: [0; KEY_LEN],
            buf: [0; BATCH],
            pos: BATCH,
            until_reseed: 0,
        })
    };
}

/// Fill `dest` with cryptographically secure random bytes.
///
/// # Errors
/// [`Error::Backend`] if the operating system's random source fails (when
/// seeding or reseeding).
pub(crate) fn fill(dest: &mut [u8]) -> Result<()> {
    // A thread being torn down (no thread-local left) uses the OS directly.
    GENERATOR
        .try_with(|g| match g.try_borrow_mut() {
            Ok(mut g) => g.fill(dest),
            Err(_) => os_fill(dest),
        })
        .unwrap_or_else(|_| os_fill(dest))
}

fn os_fill(dest: &mut [u8]) -> Result<()> {
    getrandom::fill(dest).map_err(|e| Error::backend("os-rng", e.to_string()))
}

impl Generator {
    fn fill(&mut self, mut dest: &mut [u8]) -> Result<()> {
        while !dest.is_empty() {
            if self.pos == BATCH {
                self.refill()?;
            }
            let n = dest.len().min(BATCH - self.pos);
            let (head, rest) = dest.split_at_mut(n);
            let out = &mut self.buf[self.pos..self.pos + n];
            head.copy_from_slice(out);
            out.fill(0);
            self.pos += n;
            dest = rest;
        }
        Ok(())
    }

    fn refill(&mut self) -> Result<()> {
        if self.until_reseed == 0 {
            let mut fresh = [0u8; KEY_LEN];
            os_fill(&mut fresh)?;
            for (k, f) in self.key.iter_mut().zip(fresh) {
                *k ^= f;
            }
            fresh.fill(0);
            self.until_reseed = RESEED_BATCHES;
        }
        self.until_reseed -= 1;
        let mut cipher = ChaCha20::new((&self.key).into(), (&[0u8; 12]).into());
        cipher
            .try_write_keystream(&mut self.buf)
            .map_err(|_| Error::backend("rng", "ChaCha20 keystream exhausted"))?;
        self.key.copy_from_slice(&self.buf[..KEY_LEN]);
        self.buf[..KEY_LEN].fill(0);
        self.pos = KEY_LEN;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_differs_across_calls_batches_and_threads() {
        let mut seen = std::collections::HashSet::new();
        // 32-byte draws across many refills and past the first reseed.
        let per_batch = (BATCH - KEY_LEN) / 32;
        for _ in 0..(RESEED_BATCHES as usize + 2) * per_batch {
            let mut id = [0u8; 32];
            fill(&mut id).unwrap();
            assert!(seen.insert(id), "a 256-bit draw repeated");
        }
        let other = std::thread::spawn(|| {
            let mut id = [0u8; 32];
            fill(&mut id).unwrap();
            id
        })
        .join()
        .unwrap();
        assert!(
            seen.insert(other),
            "another thread repeated this one's output"
        );
    }

    #[test]
    fn draws_larger_than_a_batch_are_filled_entirely() {
        let mut big = vec![0u8; 3 * BATCH + 5];
        fill(&mut big).unwrap();
        // Every 64-byte window is random: none of them is still all zero.
        assert!(big.chunks(64).all(|c| c.iter().any(|&b| b != 0)));
        let mut empty = [0u8; 0];
        fill(&mut empty).unwrap();
    }

    #[test]
    fn the_key_is_replaced_and_handed_out_bytes_are_wiped() {
        let mut g = Generator {
            key: [0; KEY_LEN],
            buf: [0; BATCH],
            pos: BATCH,
            until_reseed: 0,
        };
        let mut first = [0u8; 64];
        g.fill(&mut first).unwrap();
        let key_after_first_batch = g.key;
        assert_ne!(key_after_first_batch, [0; KEY_LEN]);
        // Nothing handed out, and not the key, is left in the buffer.
        assert!(g.buf[..KEY_LEN + 64].iter().all(|&b| b == 0));
        assert!(!g.buf.windows(64).any(|w| w == first));
        // Draining the batch derives the next key from the old one.
        let mut rest = vec![0u8; BATCH - KEY_LEN - 64 + 1];
        g.fill(&mut rest).unwrap();
        assert_ne!(g.key, key_after_first_batch);
        assert_eq!(g.until_reseed, RESEED_BATCHES - 2);
    }

    #[test]
    fn the_same_key_gives_the_chacha20_keystream() {
        // Block 0 of the all-zero key and nonce: RFC 8439 appendix A.1, test vector 1.
        let mut g = Generator {
            key: [0; KEY_LEN],
            buf: [0; BATCH],
            pos: BATCH,
            until_reseed: RESEED_BATCHES,
        };
        let mut out = [0u8; 32];
        g.fill(&mut out).unwrap();
        assert_eq!(
            g.key[..8],
            [0x76, 0xb8, 0xe0, 0xad, 0xa0, 0xf1, 0x3d, 0x90],
            "the first 32 keystream bytes became the key"
        );
        assert_eq!(out[..4], [0xda, 0x41, 0x59, 0x7c]);
    }
}
