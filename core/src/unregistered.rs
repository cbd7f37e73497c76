//! Bounded, preallocated record of names that are valid but not in the plan.
//!
//! The first `capacity` distinct names get a slot with their own counts; later names only add
//! to an overflow count. Slots are claimed with compare-and-swap and names are stored in atomic
//! words, so recording takes no lock, never allocates and needs no `unsafe`. A reader that finds
//! a slot half-written moves on; the rare duplicate slot this allows is merged when reported.
//! Each report window gets a fresh table, so the record is "first N names of this window".

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use xxhash_rust::xxh3::xxh3_64;

use crate::name::MAX_EVENT_NAME_BYTES;

const WORDS: usize = MAX_EVENT_NAME_BYTES / 8;
const EMPTY: u64 = 0;
const CLAIMED: u64 = 1;

/// How a recorded occurrence was handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Handling {
    Kept,
    Dropped,
    ShadowDropped,
}

/// Counts of occurrences by how they were handled.
#[derive(Debug, Default)]
struct HandlingCounters {
    kept: AtomicU64,
    dropped: AtomicU64,
    shadow_dropped: AtomicU64,
    /// Bytes of kept occurrences, shadow drops included (they were sent).
    kept_bytes: AtomicU64,
    dropped_bytes: AtomicU64,
}

impl HandlingCounters {
    fn count(&self, handling: Handling, size_bytes: u64) {
        let (counter, bytes) = match handling {
            Handling::Kept => (&self.kept, &self.kept_bytes),
            Handling::Dropped => (&self.dropped, &self.dropped_bytes),
            Handling::ShadowDropped => (&self.shadow_dropped, &self.kept_bytes),
        };
        counter.fetch_add(1, Ordering::Relaxed);
        bytes.fetch_add(size_bytes, Ordering::Relaxed);
    }

    fn take(&self) -> HandlingCounts {
        HandlingCounts {
            kept: self.kept.swap(0, Ordering::Relaxed),
            dropped: self.dropped.swap(0, Ordering::Relaxed),
            shadow_dropped: self.shadow_dropped.swap(0, Ordering::Relaxed),
            kept_bytes: self.kept_bytes.swap(0, Ordering::Relaxed),
            dropped_bytes: self.dropped_bytes.swap(0, Ordering::Relaxed),
        }
    }
}

/// A harvested [`HandlingCounters`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct HandlingCounts {
    pub(crate) kept: u64,
    pub(crate) dropped: u64,
    pub(crate) shadow_dropped: u64,
    pub(crate) kept_bytes: u64,
    pub(crate) dropped_bytes: u64,
}

impl HandlingCounts {
    pub(crate) fn is_empty(&self) -> bool {
        *self == HandlingCounts::default()
    }
}

#[derive(Debug, Default)]
struct Slot {
    /// 0 empty, 1 being written, otherwise the name's tag (hash with the low bits forced).
    tag: AtomicU64,
    length: AtomicU64,
    words: [AtomicU64; WORDS],
    tally: HandlingCounters,
}

/// Counts of one unregistered name in one window.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct UnregisteredCounts {
    pub(crate) name: String,
    pub(crate) counts: HandlingCounts,
}

/// The table for one report window.
#[derive(Debug)]
pub(crate) struct UnregisteredTable {
    slots: Box<[Slot]>,
    mask: usize,
    capacity: usize,
    claimed: AtomicUsize,
    overflow: HandlingCounters,
}

fn pack(name: &[u8]) -> [u64; WORDS] {
    let mut words = [0u64; WORDS];
    for (word, chunk) in words.iter_mut().zip(name.chunks(8)) {
        let mut bytes = [0u8; 8];
        bytes[..chunk.len()].copy_from_slice(chunk);
        *word = u64::from_le_bytes(bytes);
    }
    words
}

impl Slot {
    fn holds(&self, name: &[u8], packed: &[u64; WORDS]) -> bool {
        self.length.load(Ordering::Relaxed) == name.len() as u64
            && packed[..name.len().div_ceil(8)]
                .iter()
                .zip(&self.words)
                .all(|(word, stored)| stored.load(Ordering::Relaxed) == *word)
    }
}

impl UnregisteredTable {
    /// A table for up to `capacity` distinct names, allocated up front.
    pub(crate) fn new(capacity: usize) -> Self {
        let slot_count = (capacity.max(1) * 2).next_power_of_two();
        UnregisteredTable {
            slots: (0..slot_count).map(|_| Slot::default()).collect(),
            mask: slot_count - 1,
            capacity,
            claimed: AtomicUsize::new(0),
            overflow: HandlingCounters::default(),
        }
    }

    /// Counts one occurrence of a valid name (at most 128 bytes) that is not in the plan.
    pub(crate) fn record(&self, name: &[u8], handling: Handling, size_bytes: u64) {
        let packed = pack(name);
        let hash = xxh3_64(name);
        let tag = hash | 2;
        let mut index = hash as usize & self.mask;
        for _ in 0..self.slots.len() {
            let slot = &self.slots[index];
            let mut seen = slot.tag.load(Ordering::Acquire);
            if seen == EMPTY {
                if self.claimed.fetch_add(1, Ordering::Relaxed) >= self.capacity {
                    self.claimed.fetch_sub(1, Ordering::Relaxed);
                    break;
                }
                match slot.tag.compare_exchange(EMPTY, CLAIMED, Ordering::Acquire, Ordering::Acquire) {
                    Ok(_) => {
                        slot.length.store(name.len() as u64, Ordering::Relaxed);
                        for (stored, word) in slot.words.iter().zip(packed) {
                            stored.store(word, Ordering::Relaxed);
                        }
                        slot.tally.count(handling, size_bytes);
                        slot.tag.store(tag, Ordering::Release);
                        return;
                    }
                    Err(actual) => {
                        self.claimed.fetch_sub(1, Ordering::Relaxed);
                        seen = actual;
                    }
                }
            }
            if seen == tag && slot.holds(name, &packed) {
                slot.tally.count(handling, size_bytes);
                return;
            }
            index = (index + 1) & self.mask;
        }
        self.overflow.count(handling, size_bytes);
    }

    /// Reads and resets every count; names with nothing counted are left out. Returns the
    /// named counts and the overflow counts.
    pub(crate) fn take(&self) -> (Vec<UnregisteredCounts>, HandlingCounts) {
        let mut found = Vec::new();
        for slot in self.slots.iter() {
            let tag = slot.tag.load(Ordering::Acquire);
            if tag == EMPTY || tag == CLAIMED {
                continue;
            }
            let length = (slot.length.load(Ordering::Relaxed) as usize).min(MAX_EVENT_NAME_BYTES);
            let bytes: Vec<u8> =
                slot.words.iter().flat_map(|word| word.load(Ordering::Relaxed).to_le_bytes()).take(length).collect();
            let counts = slot.tally.take();
            if !counts.is_empty() {
                found.push(UnregisteredCounts { name: String::from_utf8_lossy(&bytes).into_owned(), counts });
            }
        }
        (found, self.overflow.take())
    }

    /// Whether any name was ever claimed (a fresh table need not replace an untouched one).
    pub(crate) fn is_untouched(&self) -> bool {
        self.claimed.load(Ordering::Relaxed) == 0
            && self.overflow.kept.load(Ordering::Relaxed) == 0
            && self.overflow.dropped.load(Ordering::Relaxed) == 0
            && self.overflow.shadow_dropped.load(Ordering::Relaxed) == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_first_names_then_overflows() {
        let table = UnregisteredTable::new(2);
        table.record(b"a.one", Handling::Dropped, 10);
        table.record(b"a.one", Handling::Dropped, 10);
        table.record(b"b.two", Handling::Kept, 5);
        table.record(b"c.three", Handling::Dropped, 7);
        let (mut names, overflow) = table.take();
        names.sort_by(|left, right| left.name.cmp(&right.name));
        assert_eq!(names.len(), 2);
        assert_eq!((names[0].name.as_str(), names[0].counts.dropped, names[0].counts.dropped_bytes), ("a.one", 2, 20));
        assert_eq!((names[1].name.as_str(), names[1].counts.kept, names[1].counts.kept_bytes), ("b.two", 1, 5));
        assert_eq!((overflow.dropped, overflow.dropped_bytes), (1, 7));
        assert!(table.take().0.is_empty(), "take resets the counts");
    }

    #[test]
    fn long_names_round_trip() {
        let table = UnregisteredTable::new(4);
        let name = "x".repeat(MAX_EVENT_NAME_BYTES);
        table.record(name.as_bytes(), Handling::ShadowDropped, 1);
        let (names, _) = table.take();
        assert_eq!(names[0].name, name);
        assert_eq!((names[0].counts.shadow_dropped, names[0].counts.kept_bytes), (1, 1));
    }
}
