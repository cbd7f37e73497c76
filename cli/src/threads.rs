//! Worker-thread counts for the commands that run in parallel.

use std::num::NonZeroUsize;

/// The threads this process may run in parallel (1 when the system cannot say).
pub fn available() -> usize {
    std::thread::available_parallelism().map_or(1, NonZeroUsize::get)
}
