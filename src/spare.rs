//! One spare buffer per thread for a cookie session's data.
//!
//! A cookie read decodes the cookie into a fresh buffer that lives for the
//! request; at ~1 KiB of data that buffer is past the allocator's per-thread
//! cache (glibc's tcache ends at 1 032 bytes), and each read then paid ~65 ns
//! for a `malloc` and a `free` from the shared arena. The buffer of a
//! finished request is kept here instead and the next decode on the thread
//! reuses it. Nothing is shared: a buffer is only ever moved, whole, between
//! its owner and this slot.

use std::cell::Cell;

/// Larger buffers are freed, not kept (a chunked cookie at its limit stays
/// well under it).
const MAX_KEPT: usize = 16 * 1024;

thread_local! {
    static SPARE: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

/// An empty buffer with room for at least `capacity` bytes: this thread's
/// spare when there is one, else a new one.
pub(crate) fn take(capacity: usize) -> Vec<u8> {
    let mut buf = SPARE.try_with(Cell::take).unwrap_or_default();
    buf.clear();
    buf.reserve(capacity);
    buf
}

/// Keep `buf` as this thread's spare (or free it when it is too large, or
/// the thread is ending).
pub(crate) fn give(buf: Vec<u8>) {
    if buf.capacity() == 0 || buf.capacity() > MAX_KEPT {
        return;
    }
    // Whatever was kept before is freed (two buffers in flight on one
    // thread: a read and a write in the same request).
    let _ = SPARE.try_with(|slot| slot.replace(buf));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_given_buffer_is_taken_back_empty_and_large_ones_are_not_kept() {
        let mut buf = take(1500);
        assert!(buf.capacity() >= 1500);
        buf.extend_from_slice(&[7; 1200]);
        let at = buf.as_ptr();
        give(buf);
        let again = take(1000);
        assert!(again.is_empty());
        assert_eq!(again.as_ptr(), at, "the spare is reused");
        give(again);
        // A request for more than the spare holds grows it.
        assert!(take(4000).capacity() >= 4000);
        give(vec![0; MAX_KEPT + 1]);
        assert_eq!(take(0).capacity(), 0, "an oversized buffer is not kept");
        // Another thread has its own spare.
        give(vec![1; 10]);
        std::thread::spawn(|| assert_eq!(take(0).capacity(), 0))
            .join()
            .unwrap();
    }
}
