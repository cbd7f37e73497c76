//! What the filter counts, and the stats file it becomes (format `trackgate-filter-stats/1`).
//!
//! Owns the accumulator [`FilterCounts`] that [`LineFilter`](crate::LineFilter) updates (line
//! counts in input order, [`LineCounts`], and per-name tallies, [`NameTallies`]), and the serde
//! types of the stats file ([`FilterStats`], format [`STATS_FORMAT`]) that `trackgate report`
//! reads back. Counts are exact integers; weighted estimates are derived from counts when the
//! stats are assembled, so a file does not depend on how the input was split between threads
//! (except which names are listed one by one once more than the tracking limit arrive).
//!
//! Merging: [`FilterCounts::merge`] and [`FilterStats::merge`] give the counts of the two
//! inputs one after the other (line numbers of the second are shifted); both are associative
//! and integer counts add exactly. Threading: plain values; each thread keeps its own
//! [`FilterCounts`] and they are merged once at the end, so the hot loop shares nothing.
//! Allocation: counting a line allocates only the first time a name is seen (its key) and when
//! a malformed line is listed.

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};

use serde::{Deserialize, Serialize};
use trackgate_core::{CompiledPlan, Decision, EventId, Priority, ReasonCounts, UnitEvaluation};

/// The `format` field of a stats file.
pub const STATS_FORMAT: &str = "trackgate-filter-stats/1";

/// Two stats that cannot be merged: they do not count the same thing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatsMergeError {
    /// Not both `trackgate-filter-stats/1`.
    #[error("stats formats differ: `{0}` and `{1}`")]
    Format(String, String),
    /// Computed with different plans (app, env, version or shadow).
    #[error("stats of different plans: {0} and {1}")]
    Plan(String, String),
    /// Labelled with different windows.
    #[error("stats of different windows: {0:?} and {1:?}")]
    Window(Option<String>, Option<String>),
}

/// Counts of one event name (or of the untracked names together).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct NameStats {
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

impl NameStats {
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
    pub fn merge(&mut self, other: &NameStats) {
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
struct NameHasher(u64);

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
///
/// Registered events are found by their index in the plan ([`EventId::index`]): counting one
/// reads two arrays instead of hashing the name and comparing it with a stored key, which at
/// 500,000 registered events no longer fits in the caches (docs/performance.md, "Filter at
/// 500,000 events"). Their names are copied once, when first counted. Names not in the plan,
/// and events of a plan other than the one a slot was first used for, are found by name.
#[derive(Debug, Clone)]
pub struct NameTallies {
    /// `by_event[index]`: 1 + the position in `tallies` of the registered event with that
    /// index, 0 while it has not been counted. Grows to the highest index counted.
    by_event: Vec<u32>,
    /// Positions in `tallies` of the names counted by name.
    by_name: HashMap<Box<str>, usize, BuildHasherDefault<NameHasher>>,
    tallies: Vec<Tally>,
    untracked_limit: usize,
    unregistered_tracked: usize,
    untracked: NameStats,
}

/// The counts of one name, with the event it was counted as when that was known.
#[derive(Debug, Clone)]
struct Tally {
    name: Box<str>,
    event: Option<EventId>,
    stats: NameStats,
}

/// Longest name kept in the stats; longer (invalid) names are cut at a character boundary.
const MAX_LISTED_NAME_BYTES: usize = 256;

impl NameTallies {
    /// Tallies tracking at most `untracked_limit` names that are not in the plan.
    pub fn new(untracked_limit: usize) -> Self {
        NameTallies {
            by_event: Vec::new(),
            by_name: HashMap::default(),
            tallies: Vec::new(),
            untracked_limit,
            unregistered_tracked: 0,
            untracked: NameStats::default(),
        }
    }

    /// Counts one decided event.
    #[inline]
    pub(crate) fn count(&mut self, name: &str, evaluation: &UnitEvaluation, size: u64) {
        match evaluation.event {
            Some(event) => self.count_event(event, name, evaluation, size),
            None => self.count_by_name(name, evaluation, size),
        }
    }

    /// Counts a registered event by its index.
    #[inline]
    fn count_event(&mut self, event: EventId, name: &str, evaluation: &UnitEvaluation, size: u64) {
        let index = event.index() as usize;
        match self.by_event.get(index).copied() {
            Some(0) | None => {
                let mut stats = NameStats::default();
                stats.count(evaluation, size);
                self.insert_event(index, Tally { name: shorten(name).into(), event: Some(event), stats });
            }
            Some(slot) => {
                let tally = &mut self.tallies[slot as usize - 1];
                if tally.event == Some(event) {
                    tally.stats.count(evaluation, size);
                } else {
                    self.count_by_name(name, evaluation, size);
                }
            }
        }
    }

    /// Adds the first tally of the registered event at `index` (its slot is free).
    fn insert_event(&mut self, index: usize, tally: Tally) {
        if index >= self.by_event.len() {
            self.by_event.resize(index + 1, 0);
        }
        self.tallies.push(tally);
        self.by_event[index] = self.tallies.len() as u32;
    }

    /// Counts an event by its name: names not in the plan (up to the limit), and registered
    /// events whose index slot holds another plan's event.
    fn count_by_name(&mut self, name: &str, evaluation: &UnitEvaluation, size: u64) {
        if let Some(&position) = self.by_name.get(name) {
            self.tallies[position].stats.count(evaluation, size);
            return;
        }
        let registered = evaluation.priority.is_some();
        if !registered && self.unregistered_tracked >= self.untracked_limit {
            self.untracked.count(evaluation, size);
            return;
        }
        self.unregistered_tracked += usize::from(!registered);
        let mut stats = NameStats::default();
        stats.count(evaluation, size);
        let listed: Box<str> = shorten(name).into();
        if let Some(&position) = self.by_name.get(&listed) {
            // A long name shares its shortened form with an earlier one.
            self.tallies[position].stats.merge(&stats);
            return;
        }
        self.insert_by_name(Tally { name: listed, event: None, stats });
    }

    fn insert_by_name(&mut self, tally: Tally) {
        self.by_name.insert(tally.name.clone(), self.tallies.len());
        self.tallies.push(tally);
    }

    /// Adds another thread's tallies, name by name. Every name either side tracks stays
    /// tracked (so the union may exceed the limit); untracked counts add.
    pub fn merge(&mut self, other: NameTallies) {
        self.untracked.merge(&other.untracked);
        for tally in other.tallies {
            if let Some(event) = tally.event {
                match self.by_event.get(event.index() as usize).copied() {
                    Some(0) | None => {
                        self.insert_event(event.index() as usize, tally);
                        continue;
                    }
                    Some(slot) if self.tallies[slot as usize - 1].event == Some(event) => {
                        self.tallies[slot as usize - 1].stats.merge(&tally.stats);
                        continue;
                    }
                    // Another plan's event holds the slot: merge by name below.
                    Some(_) => {}
                }
            }
            match self.by_name.get(&tally.name) {
                Some(&position) => self.tallies[position].stats.merge(&tally.stats),
                None => {
                    self.unregistered_tracked += usize::from(tally.stats.priority.is_none());
                    self.insert_by_name(Tally { event: None, ..tally });
                }
            }
        }
    }

    /// The tallies sorted by name, each name once, and the untracked names' tally. A name
    /// counted both by index and by name (events of two plans) is listed once, with both counts.
    ///
    /// A plan numbers its events in name order, so the tallies found by index come out sorted
    /// by walking the index table: no comparisons of scattered names, which at 500,000 events
    /// cost more than the counting. Only if the index table holds two plans' events are they
    /// sorted by name.
    pub(crate) fn into_sorted(self) -> (Vec<(Box<str>, NameStats)>, NameStats) {
        let mut tallies: Vec<Option<Tally>> = self.tallies.into_iter().map(Some).collect();
        let mut by_index: Vec<(Box<str>, NameStats)> = Vec::with_capacity(tallies.len() - self.by_name.len());
        let (mut first_event, mut one_plan) = (None, true);
        for &slot in self.by_event.iter().filter(|&&slot| slot != 0) {
            if let Some(Tally { name, event: Some(event), stats }) = tallies[slot as usize - 1].take() {
                let first = *first_event.get_or_insert(event);
                one_plan &= event.same_plan(first);
                by_index.push((name, stats));
            }
        }
        if !one_plan {
            by_index.sort_by(|left, right| left.0.cmp(&right.0));
        }
        let mut by_name: Vec<(Box<str>, NameStats)> =
            tallies.into_iter().flatten().map(|tally| (tally.name, tally.stats)).collect();
        by_name.sort_by(|left, right| left.0.cmp(&right.0));

        let mut sorted: Vec<(Box<str>, NameStats)> = Vec::with_capacity(by_index.len() + by_name.len());
        let (mut by_index, mut by_name) = (by_index.into_iter().peekable(), by_name.into_iter().peekable());
        loop {
            let next = match (by_index.peek(), by_name.peek()) {
                (Some(left), Some(right)) if left.0 <= right.0 => by_index.next(),
                (Some(_), Some(_)) | (None, Some(_)) => by_name.next(),
                (Some(_), None) => by_index.next(),
                (None, None) => break,
            };
            let Some((name, stats)) = next else { break };
            match sorted.last_mut() {
                Some((last, tally)) if *last == name => tally.merge(&stats),
                _ => sorted.push((name, stats)),
            }
        }
        (sorted, self.untracked)
    }
}

/// Line-level counts of consecutive lines (a block, or a whole input so far): how many lines,
/// how many blank, how many malformed and the first ones, numbered from 1 at the first line
/// these counts saw.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LineCounts {
    /// Lines seen, blank and malformed ones included.
    pub lines: u64,
    /// Lines holding only whitespace.
    pub blank_lines: u64,
    /// Malformed lines: counted, and listed up to `malformed.listed_limit`.
    pub malformed: MalformedSummary,
}

impl LineCounts {
    /// Empty counts that list at most `listed_limit` malformed lines.
    pub fn new(listed_limit: usize) -> Self {
        LineCounts { malformed: MalformedSummary { listed_limit, ..MalformedSummary::default() }, ..Self::default() }
    }

    /// Adds the counts of the lines that follow these ones: their malformed lines are renumbered
    /// after these lines and listed while under the larger of the two limits.
    pub fn append(&mut self, later: LineCounts) {
        let limit = self.malformed.listed_limit.max(later.malformed.listed_limit);
        self.malformed.append(later.malformed, self.lines, limit);
        self.lines += later.lines;
        self.blank_lines += later.blank_lines;
    }

    /// Whether another malformed line would be listed.
    pub(crate) fn lists_more(&self) -> bool {
        self.malformed.first.len() < self.malformed.listed_limit
    }

    /// Counts a malformed line and lists it (numbered `self.lines`) while under the limit.
    pub(crate) fn record_malformed(&mut self, problem: crate::LineProblem, bytes: u64) {
        if self.lists_more() {
            self.malformed.first.push(MalformedLine {
                line: self.lines,
                column: problem.column,
                message: problem.message,
            });
        }
        self.count_malformed(bytes);
    }

    /// Counts a malformed line without listing it.
    pub(crate) fn count_malformed(&mut self, bytes: u64) {
        self.malformed.count += 1;
        self.malformed.bytes += bytes;
    }
}

/// Everything [`LineFilter`](crate::LineFilter) counts: line-level counts in input order and
/// per-name tallies. One per thread (or per stream); merge them with [`FilterCounts::merge`]
/// and turn the result into a stats file with [`FilterStats::from_counts`].
#[derive(Debug, Clone)]
pub struct FilterCounts {
    /// Lines, blank lines and malformed lines, in input order.
    pub lines: LineCounts,
    /// Per-name decisions.
    pub names: NameTallies,
}

impl FilterCounts {
    /// Empty counts listing at most `malformed_listed` malformed lines and tracking at most
    /// `tracked_names` names that are not in the plan one by one.
    pub fn new(malformed_listed: usize, tracked_names: usize) -> Self {
        FilterCounts { lines: LineCounts::new(malformed_listed), names: NameTallies::new(tracked_names) }
    }

    /// Adds the counts of the input that follows this one (see [`LineCounts::append`] and
    /// [`NameTallies::merge`]).
    pub fn merge(&mut self, later: FilterCounts) {
        self.lines.append(later.lines);
        self.names.merge(later.names);
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
    /// The plan's app.
    pub app: String,
    /// The plan's environment.
    pub env: String,
    /// The plan's version.
    pub version: u64,
    /// Whether the plan was a shadow plan (kept everything, counted would-be drops).
    pub shadow: bool,
}

impl PlanIdentity {
    /// The identity of a compiled plan.
    pub fn of(plan: &CompiledPlan) -> Self {
        PlanIdentity {
            app: plan.app().to_owned(),
            env: plan.env().to_owned(),
            version: plan.version(),
            shadow: plan.is_shadow(),
        }
    }
}

impl std::fmt::Display for PlanIdentity {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "{}/{} version {}", self.app, self.env, self.version)?;
        if self.shadow {
            formatter.write_str(" (shadow)")?;
        }
        Ok(())
    }
}

/// Counts of one name in the stats file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EventStats {
    /// The name as it arrived (cut to 256 bytes when longer).
    pub name: String,
    /// The plan's priority; `null` for names not in the plan.
    pub priority: Option<Priority>,
    /// Events decided.
    pub offered: u64,
    /// Their bytes.
    pub offered_bytes: u64,
    /// Events kept.
    pub kept: u64,
    /// Their bytes.
    pub kept_bytes: u64,
    /// Sum of the sampling weights of kept events: the estimate of how many were offered to
    /// the sampler.
    pub kept_weighted: f64,
    /// Events dropped, per rule.
    pub dropped: ReasonCounts,
    /// Bytes dropped, per rule.
    pub dropped_bytes: ReasonCounts,
    /// Kept by a shadow plan but refused by this rule.
    pub shadow_dropped: ReasonCounts,
}

impl EventStats {
    /// Adds another input's counts of the same name.
    pub fn merge(&mut self, other: &EventStats) {
        self.priority = self.priority.or(other.priority);
        self.offered += other.offered;
        self.offered_bytes += other.offered_bytes;
        self.kept += other.kept;
        self.kept_bytes += other.kept_bytes;
        self.kept_weighted += other.kept_weighted;
        self.dropped.merge(&other.dropped);
        self.dropped_bytes.merge(&other.dropped_bytes);
        self.shadow_dropped.merge(&other.shadow_dropped);
    }

    /// The stats entry of a tally.
    pub(crate) fn from_tally(name: String, tally: &NameStats) -> Self {
        EventStats {
            name,
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
    /// Events kept.
    pub events: u64,
    /// Their bytes.
    pub bytes: u64,
}

/// One malformed line, placed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MalformedLine {
    /// 1-based line number in the (decompressed) input.
    pub line: u64,
    /// 1-based byte column.
    pub column: usize,
    /// What is wrong, naming the JSON path when one applies.
    pub message: String,
}

/// Lines that are not one JSON object with well-typed fields.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MalformedSummary {
    /// Malformed lines.
    pub count: u64,
    /// Their bytes (without line endings).
    pub bytes: u64,
    /// The first ones, in input order, at most `listed_limit`.
    pub first: Vec<MalformedLine>,
    /// How many are listed at most.
    pub listed_limit: usize,
}

impl MalformedSummary {
    /// Adds the malformed lines of input that follows `lines_before` lines, listing under `limit`.
    fn append(&mut self, later: MalformedSummary, lines_before: u64, limit: usize) {
        self.count += later.count;
        self.bytes += later.bytes;
        self.listed_limit = limit;
        for mut malformed in later.first {
            if self.first.len() >= limit {
                break;
            }
            malformed.line += lines_before;
            self.first.push(malformed);
        }
    }
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
    /// The plan applied.
    pub plan: PlanIdentity,
    /// Lines read, blank and malformed ones included.
    pub lines: u64,
    /// Lines holding only whitespace (skipped, not counted as events).
    pub blank_lines: u64,
    /// Events decided (lines neither blank nor malformed).
    pub offered: u64,
    /// Their bytes.
    pub offered_bytes: u64,
    /// Events kept.
    pub kept: u64,
    /// Their bytes.
    pub kept_bytes: u64,
    /// Sum of the kept events' weights: the estimate of how many reached the sampler.
    pub kept_weighted: f64,
    /// Kept events and bytes per priority (`P0`..`P3`, and `unregistered` for names not in
    /// the plan).
    pub kept_by_priority: BTreeMap<String, PriorityTotals>,
    /// Events dropped by each rule.
    pub dropped: ReasonCounts,
    /// Bytes dropped by each rule (the saving).
    pub dropped_bytes: ReasonCounts,
    /// Events a shadow plan kept although this rule refused them.
    pub shadow_dropped: ReasonCounts,
    /// Lines that are not events the filter can read.
    pub malformed: MalformedSummary,
    /// Per name, sorted by name.
    pub events: Vec<EventStats>,
    /// Names beyond the tracking limit (`--track-names`), counted together.
    pub untracked: Option<EventStats>,
}

/// The key of `kept_by_priority` for kept events without a priority (unregistered names).
pub const NO_PRIORITY_KEY: &str = "unregistered";

impl FilterStats {
    /// The stats of a run: `counts` (every thread's, merged) of `plan` over `input` (a label:
    /// a file name, or `-` for stdin), for the period `window`.
    pub fn from_counts(plan: &CompiledPlan, window: Option<String>, input: String, counts: FilterCounts) -> Self {
        let (by_name, untracked) = counts.names.into_sorted();
        let mut stats = FilterStats {
            format: STATS_FORMAT.to_owned(),
            window,
            input,
            plan: PlanIdentity::of(plan),
            lines: counts.lines.lines,
            blank_lines: counts.lines.blank_lines,
            malformed: counts.lines.malformed,
            ..FilterStats::default()
        };
        stats.events.reserve_exact(by_name.len());
        for (name, tally) in by_name {
            stats.add_totals(&tally);
            stats.events.push(EventStats::from_tally(name.into_string(), &tally));
        }
        if untracked.offered > 0 {
            stats.add_totals(&untracked);
            stats.untracked = Some(EventStats::from_tally(String::new(), &untracked));
        }
        stats
    }

    /// Adds the stats of the input that followed this one, filtered with the same plan for the
    /// same window (else an error, and `self` is unchanged). Counts add; per-name entries are
    /// merged by name; malformed lines are renumbered after this input's lines and listed under
    /// the larger limit; `input` stays this one's. Associative: integer counts exactly, the
    /// `kept_weighted` estimates up to float rounding (exactly when they are whole numbers).
    pub fn merge(&mut self, later: &FilterStats) -> Result<(), StatsMergeError> {
        if self.format != later.format {
            return Err(StatsMergeError::Format(self.format.clone(), later.format.clone()));
        }
        if self.plan != later.plan {
            return Err(StatsMergeError::Plan(self.plan.to_string(), later.plan.to_string()));
        }
        if self.window != later.window {
            return Err(StatsMergeError::Window(self.window.clone(), later.window.clone()));
        }
        let limit = self.malformed.listed_limit.max(later.malformed.listed_limit);
        self.malformed.append(later.malformed.clone(), self.lines, limit);
        self.lines += later.lines;
        self.blank_lines += later.blank_lines;
        self.offered += later.offered;
        self.offered_bytes += later.offered_bytes;
        self.kept += later.kept;
        self.kept_bytes += later.kept_bytes;
        self.kept_weighted += later.kept_weighted;
        for (key, totals) in &later.kept_by_priority {
            let ours = self.kept_by_priority.entry(key.clone()).or_default();
            ours.events += totals.events;
            ours.bytes += totals.bytes;
        }
        self.dropped.merge(&later.dropped);
        self.dropped_bytes.merge(&later.dropped_bytes);
        self.shadow_dropped.merge(&later.shadow_dropped);
        let mut by_name: BTreeMap<String, EventStats> =
            std::mem::take(&mut self.events).into_iter().map(|event| (event.name.clone(), event)).collect();
        for event in &later.events {
            match by_name.get_mut(&event.name) {
                Some(ours) => ours.merge(event),
                None => {
                    by_name.insert(event.name.clone(), event.clone());
                }
            }
        }
        self.events = by_name.into_values().collect();
        match (&mut self.untracked, &later.untracked) {
            (Some(ours), Some(theirs)) => ours.merge(theirs),
            (None, Some(theirs)) => self.untracked = Some(theirs.clone()),
            (_, None) => {}
        }
        Ok(())
    }

    /// The stats file's text: pretty-printed JSON with a final newline.
    pub fn to_json(&self) -> String {
        // Serializing plain structs with string keys into a String cannot fail.
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }

    /// Totals over every name.
    fn add_totals(&mut self, tally: &NameStats) {
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
        UnitEvaluation { decision: Decision::Keep { weight }, refused_by: None, priority, event: None }
    }

    #[test]
    fn weighted_counts_come_from_counts() {
        let mut tally = NameStats::default();
        for _ in 0..3 {
            tally.count(&keep(10.0, Some(Priority::P2)), 5);
        }
        let shadow_keep = UnitEvaluation {
            decision: Decision::Keep { weight: 1.0 },
            refused_by: Some(DropReason::SampledOut),
            priority: Some(Priority::P2),
            event: None,
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
            event: None,
        };
        tallies.count("a.one", &dropped, 1);
        tallies.count("b.two", &dropped, 2);
        tallies.count("c.kept", &keep(1.0, Some(Priority::P0)), 3);
        let (by_name, untracked) = tallies.into_sorted();
        assert_eq!(by_name.iter().map(|(name, _)| &**name).collect::<Vec<_>>(), ["a.one", "c.kept"]);
        assert_eq!((untracked.offered, untracked.dropped_bytes.unregistered), (1, 2));
    }

    #[test]
    fn long_names_are_shortened_on_a_character_boundary() {
        let name = format!("{}é", "x".repeat(MAX_LISTED_NAME_BYTES - 1));
        assert_eq!(shorten(&name).len(), MAX_LISTED_NAME_BYTES - 1);
    }

    use crate::test_support::{compiled, events, lines_of};
    use crate::{FieldConfig, LineFilter};

    /// The stats of filtering `lines` (whole lines, each without its newline) with `plan`.
    fn stats_of(plan: &CompiledPlan, lines: &[&[u8]]) -> FilterStats {
        let filter = LineFilter::new(plan, &FieldConfig::default()).unwrap();
        let mut counts = FilterCounts::new(4, 100);
        for line in lines {
            filter.filter_line(line, &mut Vec::new(), &mut counts);
        }
        FilterStats::from_counts(plan, Some("2026-11-01".to_owned()), "events".to_owned(), counts)
    }

    fn merged(first: &FilterStats, later: &FilterStats) -> FilterStats {
        let mut merged = first.clone();
        merged.merge(later).unwrap();
        merged
    }

    /// Counts `names` evaluated under `plan` into `tallies`.
    fn count_all(tallies: &mut NameTallies, plan: &CompiledPlan, names: &[&str]) {
        for (at, name) in names.iter().enumerate() {
            tallies.count(name, &plan.evaluate_for_unit(name, 10, &format!("u{at}")), 10);
        }
    }

    #[test]
    fn registered_events_are_tallied_by_index_and_apart_across_plans() {
        let plan = compiled(str::to_owned);
        // Another plan where the indexes name other events: `p.aaa` sorts first, so it has
        // `p.half`'s index in `plan`, and `p.half` has `p.low`'s.
        let other = compiled(|text| text.replace("p.low", "p.aaa"));
        let under_plan = ["p.zero", "p.half", "p.low", "p.half"];
        let under_other = ["p.aaa", "p.half", "p.zero", "not.listed"];
        let offered = |tallies: NameTallies| {
            let (by_name, untracked) = tallies.into_sorted();
            assert_eq!(untracked.offered, 0);
            by_name.iter().map(|(name, stats)| (name.to_string(), stats.offered)).collect::<Vec<_>>()
        };
        let expected: Vec<(String, u64)> =
            [("not.listed", 1), ("p.aaa", 1), ("p.half", 3), ("p.low", 1), ("p.zero", 2)]
                .map(|(name, count)| (name.to_owned(), count))
                .into();

        // One thread sees both plans: by index, then by name for the other plan's events.
        let mut one = NameTallies::new(10);
        count_all(&mut one, &plan, &under_plan);
        count_all(&mut one, &other, &under_other);
        assert_eq!(offered(one), expected);
        // The other plan's `p.half` takes a free index slot, so the index table holds `p.half`
        // twice (the two plans' events): it is listed once, with both counts.
        let mut shared_slots = NameTallies::new(10);
        count_all(&mut shared_slots, &plan, &["p.zero", "p.half"]);
        count_all(&mut shared_slots, &other, &["p.half", "p.aaa", "p.half"]);
        let listed = [("p.aaa", 1), ("p.half", 3), ("p.zero", 1)].map(|(name, count)| (name.to_owned(), count));
        assert_eq!(offered(shared_slots), listed);
        // Two threads, one per plan, merged either way round.
        for plan_first in [true, false] {
            let (mut first, mut second) = (NameTallies::new(10), NameTallies::new(10));
            count_all(&mut first, &plan, &under_plan);
            count_all(&mut second, &other, &under_other);
            if !plan_first {
                std::mem::swap(&mut first, &mut second);
            }
            first.merge(second);
            assert_eq!(offered(first), expected, "plan's tallies first: {plan_first}");
        }
    }

    #[test]
    fn stats_merge_adds_counts_and_is_associative() {
        let plan = compiled(str::to_owned);
        let input = events();
        let lines = lines_of(&input);
        let whole = stats_of(&plan, &lines);
        for (first, second) in [(5, 17), (0, 30), (12, 12), (29, lines.len())] {
            let (a, b, c) = (&lines[..first], &lines[first..second], &lines[second..]);
            let (a, b, c) = (stats_of(&plan, a), stats_of(&plan, b), stats_of(&plan, c));
            let left = merged(&merged(&a, &b), &c);
            assert_eq!(left, merged(&a, &merged(&b, &c)), "split at {first}, {second}");
            // Weights are 1 or 2 here, so even the weighted estimates add exactly.
            assert_eq!(left, whole, "split at {first}, {second}");
        }
        assert!(whole.kept_weighted > whole.kept as f64);
        assert_eq!(whole.malformed.first.len(), 4);
        let empty = stats_of(&plan, &[]);
        assert_eq!(merged(&empty, &whole), whole);
        assert_eq!(merged(&whole, &empty), whole);
    }

    #[test]
    fn stats_of_other_plans_or_windows_do_not_merge() {
        let plan = compiled(str::to_owned);
        let lines = [br#"{"event":"p.zero"}"#.as_slice()];
        let ours = stats_of(&plan, &lines);
        let other_plan = stats_of(&compiled(|text| text.replace(r#""version":4"#, r#""version":5"#)), &lines);
        let mut other_window = ours.clone();
        other_window.window = None;
        let mut target = ours.clone();
        assert!(matches!(target.merge(&other_plan), Err(StatsMergeError::Plan(..))));
        assert!(matches!(target.merge(&other_window), Err(StatsMergeError::Window(..))));
        assert_eq!(target, ours);
        assert_eq!(
            target.merge(&other_plan).unwrap_err().to_string(),
            "stats of different plans: shop/prod version 4 and shop/prod version 5"
        );
    }

    #[test]
    fn the_stats_file_round_trips() {
        let plan = compiled(str::to_owned);
        let input = events();
        let stats = stats_of(&plan, &lines_of(&input));
        let text = stats.to_json();
        assert!(text.starts_with("{\n  \"format\": \"trackgate-filter-stats/1\",\n") && text.ends_with("}\n"));
        assert_eq!(serde_json::from_str::<FilterStats>(&text).unwrap(), stats);
    }
}
