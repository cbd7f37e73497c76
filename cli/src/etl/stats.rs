//! What the filter counted: per-thread tallies while it runs, and the `--stats` JSON it writes.
//!
//! Owns [`NameTallies`] (one per worker thread, merged once at the end, so the hot loop shares
//! nothing) and the serde types of the stats file ([`FilterStats`], format
//! [`STATS_FORMAT`]), which `trackgate report` reads back. Counts are exact integers; weighted
//! estimates are derived from counts at the end, so the file does not depend on `--threads`
//! (except which names are listed one by one once more than the tracking limit arrive).

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};

use serde::{Deserialize, Serialize};
use trackgate_core::{Decision, Priority, ReasonCounts, UnitEvaluation};

/// The `format` field of a stats file.
pub const STATS_FORMAT: &str = "trackgate-filter-stats/1";

/// Counts of one event name (or of the untracked names together).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tally {
    /// The plan's priority of the name; `None` for names not in the plan.
    pub priority: Option<Priority>,
    pub offered: u64,
    pub offered_bytes: u64,
    pub kept: u64,
    pub kept_bytes: u64,
    /// Kept by a shadow plan although a rule refused them (their weight is 1).
    pub kept_despite_refusal: u64,
    /// The weight of the name's sampled keeps (1 when not sampled).
    pub sampling_weight: f64,
    pub dropped: ReasonCounts,
    pub dropped_bytes: ReasonCounts,
    pub shadow_dropped: ReasonCounts,
}

impl Tally {
    /// Counts one decided event of `size` bytes.
    pub fn count(&mut self, evaluation: &UnitEvaluation, size: u64) {
        self.priority = evaluation.priority;
        self.offered += 1;
        self.offered_bytes += size;
        match evaluation.decision {
            Decision::Keep { weight } => {
                self.kept += 1;
                self.kept_bytes += size;
                match evaluation.refused_by {
                    Some(reason) => {
                        self.kept_despite_refusal += 1;
                        self.shadow_dropped.add(reason, 1);
                    }
                    None => self.sampling_weight = weight,
                }
            }
            Decision::Drop { reason } => {
                self.dropped.add(reason, 1);
                self.dropped_bytes.add(reason, size);
            }
        }
    }

    /// Adds another thread's counts of the same name.
    pub fn merge(&mut self, other: &Tally) {
        self.priority = self.priority.or(other.priority);
        self.offered += other.offered;
        self.offered_bytes += other.offered_bytes;
        self.kept += other.kept;
        self.kept_bytes += other.kept_bytes;
        self.kept_despite_refusal += other.kept_despite_refusal;
        if other.kept > other.kept_despite_refusal {
            self.sampling_weight = other.sampling_weight;
        }
        self.dropped.merge(&other.dropped);
        self.dropped_bytes.merge(&other.dropped_bytes);
        self.shadow_dropped.merge(&other.shadow_dropped);
    }

    /// The Horvitz–Thompson estimate of how many reached the sampler: each keep counts its weight.
    pub fn kept_weighted(&self) -> f64 {
        let sampled = self.kept - self.kept_despite_refusal;
        let weight = if sampled == 0 { 1.0 } else { self.sampling_weight };
        sampled as f64 * weight + self.kept_despite_refusal as f64
    }
}

/// A small, fast hasher for event names (SipHash costs more than the rest of a lookup).
#[derive(Default)]
pub struct NameHasher(u64);

impl Hasher for NameHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0 = xxhash_rust::xxh3::xxh3_64_with_seed(bytes, self.0);
    }
}

/// Per-name tallies of one thread. Names in the plan are always tracked; other names up to a
/// limit, after which they are counted together as untracked.
pub struct NameTallies {
    index: HashMap<Box<str>, usize, BuildHasherDefault<NameHasher>>,
    tallies: Vec<(Box<str>, Tally)>,
    untracked_limit: usize,
    unregistered_tracked: usize,
    untracked: Tally,
}

/// Longest name kept in the stats; longer (invalid) names are cut at a character boundary.
const MAX_LISTED_NAME_BYTES: usize = 256;

impl NameTallies {
    /// Tallies tracking at most `untracked_limit` names that are not in the plan.
    pub fn new(untracked_limit: usize) -> Self {
        NameTallies {
            index: HashMap::default(),
            tallies: Vec::new(),
            untracked_limit,
            unregistered_tracked: 0,
            untracked: Tally::default(),
        }
    }

    /// Counts one decided event.
    #[inline]
    pub fn count(&mut self, name: &str, evaluation: &UnitEvaluation, size: u64) {
        if let Some(&slot) = self.index.get(name) {
            self.tallies[slot].1.count(evaluation, size);
            return;
        }
        let registered = evaluation.priority.is_some();
        if !registered && self.unregistered_tracked >= self.untracked_limit {
            self.untracked.count(evaluation, size);
            return;
        }
        self.unregistered_tracked += usize::from(!registered);
        let mut tally = Tally::default();
        tally.count(evaluation, size);
        let listed: Box<str> = shorten(name).into();
        if let Some(&slot) = self.index.get(&listed) {
            // A long name shares its shortened form with an earlier one.
            self.tallies[slot].1.merge(&tally);
            return;
        }
        self.index.insert(listed.clone(), self.tallies.len());
        self.tallies.push((listed, tally));
    }

    /// Merges every thread's tallies, by name.
    pub fn merge_all(threads: Vec<NameTallies>) -> (BTreeMap<Box<str>, Tally>, Tally) {
        let mut by_name: BTreeMap<Box<str>, Tally> = BTreeMap::new();
        let mut untracked = Tally::default();
        for thread in threads {
            untracked.merge(&thread.untracked);
            for (name, tally) in thread.tallies {
                by_name.entry(name).or_default().merge(&tally);
            }
        }
        (by_name, untracked)
    }
}

fn shorten(name: &str) -> &str {
    if name.len() <= MAX_LISTED_NAME_BYTES {
        return name;
    }
    let mut end = MAX_LISTED_NAME_BYTES;
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    &name[..end]
}

/// The plan a stats file was computed with.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PlanIdentity {
    pub app: String,
    pub env: String,
    pub version: u64,
    pub shadow: bool,
}

/// Counts of one name in the stats file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EventStats {
    /// The name as it arrived (cut to 256 bytes when longer).
    pub name: String,
    /// The plan's priority; `null` for names not in the plan.
    pub priority: Option<Priority>,
    pub offered: u64,
    pub offered_bytes: u64,
    pub kept: u64,
    pub kept_bytes: u64,
    /// Sum of the sampling weights of kept events: the estimate of how many were offered to
    /// the sampler.
    pub kept_weighted: f64,
    pub dropped: ReasonCounts,
    pub dropped_bytes: ReasonCounts,
    /// Kept by a shadow plan but refused by this rule.
    pub shadow_dropped: ReasonCounts,
}

impl EventStats {
    /// The stats entry of a tally.
    pub fn from_tally(name: &str, tally: &Tally) -> Self {
        EventStats {
            name: name.to_owned(),
            priority: tally.priority,
            offered: tally.offered,
            offered_bytes: tally.offered_bytes,
            kept: tally.kept,
            kept_bytes: tally.kept_bytes,
            kept_weighted: tally.kept_weighted(),
            dropped: tally.dropped,
            dropped_bytes: tally.dropped_bytes,
            shadow_dropped: tally.shadow_dropped,
        }
    }
}

/// Events and bytes kept at one priority.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriorityTotals {
    pub events: u64,
    pub bytes: u64,
}

/// One malformed line, placed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MalformedLine {
    /// 1-based line number in the (decompressed) input.
    pub line: u64,
    /// 1-based byte column.
    pub column: usize,
    pub message: String,
}

/// Lines that are not one JSON object with well-typed fields.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MalformedSummary {
    pub count: u64,
    pub bytes: u64,
    /// The first ones, in input order, at most `listed_limit`.
    pub first: Vec<MalformedLine>,
    pub listed_limit: usize,
}

/// The `--stats` file: totals, per-name counts and malformed lines of one filter run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FilterStats {
    /// Always [`STATS_FORMAT`].
    pub format: String,
    /// The `--window` label (a day or period), if given.
    pub window: Option<String>,
    /// The input file, or `-` for stdin.
    pub input: String,
    pub plan: PlanIdentity,
    /// Lines read, blank and malformed ones included.
    pub lines: u64,
    /// Lines holding only whitespace (skipped, not counted as events).
    pub blank_lines: u64,
    pub offered: u64,
    pub offered_bytes: u64,
    pub kept: u64,
    pub kept_bytes: u64,
    pub kept_weighted: f64,
    pub kept_by_priority: BTreeMap<String, PriorityTotals>,
    pub dropped: ReasonCounts,
    /// Bytes dropped by each rule (the saving).
    pub dropped_bytes: ReasonCounts,
    pub shadow_dropped: ReasonCounts,
    pub malformed: MalformedSummary,
    /// Per name, sorted by name.
    pub events: Vec<EventStats>,
    /// Names beyond the tracking limit (`--track-names`), counted together.
    pub untracked: Option<EventStats>,
}

/// The key of `kept_by_priority` for kept events without a priority (unregistered names).
pub const NO_PRIORITY_KEY: &str = "unregistered";

impl FilterStats {
    /// Totals over every name.
    pub fn add_totals(&mut self, tally: &Tally) {
        self.offered += tally.offered;
        self.offered_bytes += tally.offered_bytes;
        self.kept += tally.kept;
        self.kept_bytes += tally.kept_bytes;
        self.kept_weighted += tally.kept_weighted();
        self.dropped.merge(&tally.dropped);
        self.dropped_bytes.merge(&tally.dropped_bytes);
        self.shadow_dropped.merge(&tally.shadow_dropped);
        if tally.kept > 0 {
            let key = tally.priority.map_or(NO_PRIORITY_KEY, Priority::as_str);
            let totals = self.kept_by_priority.entry(key.to_owned()).or_default();
            totals.events += tally.kept;
            totals.bytes += tally.kept_bytes;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use trackgate_core::DropReason;

    fn keep(weight: f64, priority: Option<Priority>) -> UnitEvaluation {
        UnitEvaluation { decision: Decision::Keep { weight }, refused_by: None, priority }
    }

    #[test]
    fn weighted_counts_come_from_counts() {
        let mut tally = Tally::default();
        for _ in 0..3 {
            tally.count(&keep(10.0, Some(Priority::P2)), 5);
        }
        let shadow_keep = UnitEvaluation {
            decision: Decision::Keep { weight: 1.0 },
            refused_by: Some(DropReason::SampledOut),
            priority: Some(Priority::P2),
        };
        tally.count(&shadow_keep, 5);
        assert_eq!(tally.kept_weighted(), 31.0);
        assert_eq!(tally.shadow_dropped.sampled_out, 1);
    }

    #[test]
    fn unregistered_names_beyond_the_limit_are_untracked() {
        let mut tallies = NameTallies::new(1);
        let dropped = UnitEvaluation {
            decision: Decision::Drop { reason: DropReason::Unregistered },
            refused_by: Some(DropReason::Unregistered),
            priority: None,
        };
        tallies.count("a.one", &dropped, 1);
        tallies.count("b.two", &dropped, 2);
        tallies.count("c.kept", &keep(1.0, Some(Priority::P0)), 3);
        let (by_name, untracked) = NameTallies::merge_all(vec![tallies]);
        assert_eq!(by_name.keys().map(|name| &**name).collect::<Vec<_>>(), ["a.one", "c.kept"]);
        assert_eq!((untracked.offered, untracked.dropped_bytes.unregistered), (1, 2));
    }

    #[test]
    fn long_names_are_shortened_on_a_character_boundary() {
        let name = format!("{}é", "x".repeat(MAX_LISTED_NAME_BYTES - 1));
        assert_eq!(shorten(&name).len(), MAX_LISTED_NAME_BYTES - 1);
    }
}
