//! Deciding and tagging NDJSON lines: one line, or a block of whole lines.
//!
//! Owns [`LineFilter`], the per-line work of `trackgate filter`: find the fields
//! ([`FieldConfig`]), decide with the core's own [`CompiledPlan::evaluate_for_unit`] (every rule
//! but rate limits, which are device state), count into [`FilterCounts`], and append each kept
//! line to a caller's buffer with `"_tg_priority"` (and `"_tg_weight"` when sampled) added as the
//! last members of its object. Malformed lines (not one JSON object, invalid UTF-8, a wanted
//! member of the wrong type, a reserved `_tg_` member) are counted and skipped, never fatal.
//!
//! Block contract: a block is a byte buffer of whole lines separated by `\n` (a `\r` before it is
//! dropped); its last line may lack the `\n`. Filtering a block is exactly filtering each of its
//! lines in turn with [`LineFilter::filter_line`]. Keeping lines whole is the caller's job: a
//! line cut across two blocks is filtered as two lines (usually two malformed ones).
//!
//! Allocation: none per line, beyond growing the caller's output buffer and what the field
//! scanner needs (an unescaped copy of a name or unit written with escapes, the text of an
//! integer unit, the message of a malformed line); a name is copied once, when first counted.
//! Ownership: [`LineFilter::new`] borrows the plan (the CLI's filter lives as long as one run);
//! [`LineFilter::owning`] shares an `Arc<CompiledPlan>`, for a filter that lives in a
//! long-running task and is replaced when a new plan arrives (the Flink job's native library).
//! Both decide through the same code; only where the plan is kept differs.
//! Threading: a [`LineFilter`] is immutable and `Sync`; share it by reference between threads,
//! give each thread its own [`FilterCounts`] and buffers, and merge the counts at the end
//! ([`FilterCounts::merge`]). No I/O, no clock, no panics on any input.

use std::sync::Arc;

use trackgate_core::{CompiledPlan, Decision, Priority, UnitEvaluation};

use crate::fields::{FieldConfig, FieldError, FieldScanner, LineProblem, ScannedLine, SizeSource};
use crate::stats::FilterCounts;

/// Where kept lines go: one buffer for every kept line ([`Vec<u8>`]), or one per priority
/// ([`ByPriority`]).
pub trait KeptOutput {
    /// The buffer a kept line with this priority (`None`: a name not in the plan) is appended to.
    /// The filter calls it once per kept line and then appends that line whole (tagged and
    /// `\n`-terminated), so an implementation may note where each line starts.
    fn buffer_for(&mut self, priority: Option<Priority>) -> &mut Vec<u8>;
}

impl KeptOutput for Vec<u8> {
    #[inline]
    fn buffer_for(&mut self, _priority: Option<Priority>) -> &mut Vec<u8> {
        self
    }
}

/// One buffer per priority, `P0` to `P3` at indexes 0 to 3, then one for kept events without a
/// priority (names not in the plan, kept by `"unregistered": "keep"` or a shadow plan).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ByPriority(pub [Vec<u8>; ByPriority::COUNT]);

impl ByPriority {
    /// How many buffers there are.
    pub const COUNT: usize = 5;
    /// The index of the buffer for kept events without a priority.
    pub const UNPRIORITISED: usize = 4;

    /// The index of the buffer for `priority`.
    pub fn index(priority: Option<Priority>) -> usize {
        priority.map_or(Self::UNPRIORITISED, |priority| priority as usize)
    }
}

impl KeptOutput for ByPriority {
    #[inline]
    fn buffer_for(&mut self, priority: Option<Priority>) -> &mut Vec<u8> {
        &mut self.0[Self::index(priority)]
    }
}

/// What became of one line.
#[derive(Debug, Clone, PartialEq)]
pub enum LineOutcome {
    /// Only whitespace: skipped, counted in `blank_lines`.
    Blank,
    /// An event the plan decided; when kept, it was appended to the output, tagged.
    Decided(UnitEvaluation),
    /// Not an event the filter can read; counted (and listed while under the limit), skipped.
    Malformed(LineProblem),
}

/// Where a filter's plan lives: borrowed for one run, or shared by a long-lived filter.
#[derive(Debug)]
enum PlanRef<'plan> {
    Borrowed(&'plan CompiledPlan),
    Shared(Arc<CompiledPlan>),
}

/// Decides and tags NDJSON lines under one compiled plan. Immutable; share it between threads.
#[derive(Debug)]
pub struct LineFilter<'plan> {
    plan: PlanRef<'plan>,
    scanner: FieldScanner,
    size_from_field: bool,
}

impl<'plan> LineFilter<'plan> {
    /// A filter applying `plan`, reading the members `fields` names. Fails when two of the
    /// fields are the same member.
    pub fn new(plan: &'plan CompiledPlan, fields: &FieldConfig) -> Result<Self, FieldError> {
        Self::with(PlanRef::Borrowed(plan), fields)
    }

    fn with(plan: PlanRef<'plan>, fields: &FieldConfig) -> Result<Self, FieldError> {
        Ok(LineFilter {
            plan,
            scanner: FieldScanner::new(fields)?,
            size_from_field: matches!(fields.size, SizeSource::Field(_)),
        })
    }

    /// The plan this filter applies.
    #[inline]
    pub fn plan(&self) -> &CompiledPlan {
        match &self.plan {
            PlanRef::Borrowed(plan) => plan,
            PlanRef::Shared(plan) => plan,
        }
    }
}

impl LineFilter<'static> {
    /// A filter that keeps `plan` alive itself, for a task that outlives any one borrow (a
    /// stream task swapping plans); it decides exactly as [`LineFilter::new`] does.
    pub fn owning(plan: Arc<CompiledPlan>, fields: &FieldConfig) -> Result<Self, FieldError> {
        Self::with(PlanRef::Shared(plan), fields)
    }
}

/// Lines of a block read before any of them is decided: their plan lookups then run back to
/// back, so the processor overlaps the cache misses of a large plan's tables instead of taking
/// them one line at a time (docs/performance.md, "Filter at 500,000 events").
const BATCH_LINES: usize = 16;

/// A line read but not yet decided or counted.
enum ReadLine<'line> {
    /// Only whitespace.
    Blank,
    /// Not an event the filter can read, and the line's length.
    Malformed(LineProblem, u64),
    /// An event: the line (without `\r`), its members and size.
    Event { line: &'line str, scanned: ScannedLine<'line>, size: u64 },
}

impl LineFilter<'_> {
    /// Filters one line (without its `\n`; a trailing `\r` is dropped): counts it into `counts`
    /// and, when the plan keeps it, appends it tagged and newline-terminated to `output`. A
    /// malformed line is numbered `counts.lines.lines` (this line included) and listed while
    /// fewer than `counts.lines.malformed.listed_limit` are.
    pub fn filter_line<O: KeptOutput + ?Sized>(
        &self,
        line: &[u8],
        output: &mut O,
        counts: &mut FilterCounts,
    ) -> LineOutcome {
        let read = self.read(line);
        counts.lines.lines += 1;
        match read {
            ReadLine::Blank => {
                counts.lines.blank_lines += 1;
                LineOutcome::Blank
            }
            ReadLine::Malformed(problem, bytes) => {
                if counts.lines.lists_more() {
                    counts.lines.record_malformed(problem.clone(), bytes);
                } else {
                    counts.lines.count_malformed(bytes);
                }
                LineOutcome::Malformed(problem)
            }
            ReadLine::Event { line, scanned, size } => {
                let evaluation = self.decide(&scanned, size);
                counts.names.count(event_name(&scanned), &evaluation, size);
                write_kept(output, line, scanned.has_members, &evaluation);
                LineOutcome::Decided(evaluation)
            }
        }
    }

    /// Filters a block of whole lines (see the module's block contract), exactly as
    /// [`filter_line`](Self::filter_line) on each line in turn. Reserve about `block.len()` in
    /// `output` beforehand to avoid regrowing it.
    ///
    /// Lines are handled [`BATCH_LINES`] at a time in three passes, each in input order: read
    /// them, decide them, then count and write them. Nothing a pass does depends on a later
    /// line, and the counts and output come out as line by line.
    pub fn filter_block<O: KeptOutput + ?Sized>(&self, block: &[u8], output: &mut O, counts: &mut FilterCounts) {
        let mut batch: Vec<(ReadLine<'_>, Option<UnitEvaluation>)> = Vec::with_capacity(BATCH_LINES);
        let mut start = 0;
        while start < block.len() {
            while batch.len() < BATCH_LINES && start < block.len() {
                let end = memchr::memchr(b'\n', &block[start..]).map_or(block.len(), |position| start + position);
                batch.push((self.read(&block[start..end]), None));
                start = end + 1;
            }
            for (read, evaluation) in &mut batch {
                *evaluation = self.evaluate(read);
            }
            for (read, evaluation) in &batch {
                count_name(read, evaluation.as_ref(), counts);
            }
            for (read, evaluation) in batch.drain(..) {
                counts.lines.lines += 1;
                match (read, evaluation) {
                    (ReadLine::Blank, _) => counts.lines.blank_lines += 1,
                    (ReadLine::Malformed(problem, bytes), _) => counts.lines.record_malformed(problem, bytes),
                    (ReadLine::Event { line, scanned, .. }, Some(evaluation)) => {
                        write_kept(output, line, scanned.has_members, &evaluation);
                    }
                    (ReadLine::Event { .. }, None) => {}
                }
            }
        }
    }

    /// Reads one line: blank, malformed (with its length), or an event with its members.
    #[inline]
    fn read<'line>(&self, raw: &'line [u8]) -> ReadLine<'line> {
        let line = raw.strip_suffix(b"\r").unwrap_or(raw);
        if line.iter().all(u8::is_ascii_whitespace) {
            return ReadLine::Blank;
        }
        let malformed = |problem| ReadLine::Malformed(problem, line.len() as u64);
        let text = match std::str::from_utf8(line) {
            Ok(text) => text,
            Err(error) => {
                return malformed(LineProblem { column: error.valid_up_to() + 1, message: "invalid UTF-8".into() })
            }
        };
        let scanned = match self.scanner.scan(text) {
            Ok(scanned) => scanned,
            Err(problem) => return malformed(problem),
        };
        let size = if self.size_from_field {
            match scanned.size {
                Some(size) => size,
                None => {
                    return malformed(LineProblem { column: 1, message: "the size field is missing or null".into() })
                }
            }
        } else {
            text.len() as u64
        };
        ReadLine::Event { line: text, scanned, size }
    }

    /// The plan's decision on an event line; `None` for any other line.
    #[inline]
    fn evaluate(&self, read: &ReadLine<'_>) -> Option<UnitEvaluation> {
        match read {
            ReadLine::Event { scanned, size, .. } => Some(self.decide(scanned, *size)),
            ReadLine::Blank | ReadLine::Malformed(..) => None,
        }
    }

    /// The plan's decision on an event (every rule but rate limits; a missing name or unit is
    /// the empty string).
    #[inline]
    fn decide(&self, scanned: &ScannedLine<'_>, size: u64) -> UnitEvaluation {
        self.plan().evaluate_for_unit(event_name(scanned), size, scanned.unit.as_deref().unwrap_or(""))
    }
}

/// The event's name; the empty string (an invalid name) when it has none.
#[inline]
fn event_name<'line>(scanned: &'line ScannedLine<'_>) -> &'line str {
    scanned.name.as_deref().unwrap_or("")
}

/// Counts a decided event line under its name.
#[inline]
fn count_name(read: &ReadLine<'_>, evaluation: Option<&UnitEvaluation>, counts: &mut FilterCounts) {
    if let (ReadLine::Event { scanned, size, .. }, Some(evaluation)) = (read, evaluation) {
        counts.names.count(event_name(scanned), evaluation, *size);
    }
}

/// Appends a decided event line to its output buffer, tagged, when the plan keeps it.
#[inline]
fn write_kept<O: KeptOutput + ?Sized>(output: &mut O, line: &str, has_members: bool, evaluation: &UnitEvaluation) {
    if let Decision::Keep { weight } = evaluation.decision {
        write_tagged(output.buffer_for(evaluation.priority), line, has_members, evaluation, weight);
    }
}

/// Writes a kept line with `_tg_priority` (and `_tg_weight` when sampled) added as its last
/// members. The line is known to be one JSON object, so it ends with `}` and optional spaces.
fn write_tagged(output: &mut Vec<u8>, line: &str, has_members: bool, evaluation: &UnitEvaluation, weight: f64) {
    let body = line.trim_end_matches([' ', '\t', '\r', '\n']);
    output.extend_from_slice(&body.as_bytes()[..body.len() - 1]);
    if has_members {
        output.push(b',');
    }
    output.extend_from_slice(b"\"_tg_priority\":");
    match evaluation.priority {
        Some(priority) => {
            output.push(b'"');
            output.extend_from_slice(priority.as_str().as_bytes());
            output.push(b'"');
        }
        None => output.extend_from_slice(b"null"),
    }
    if weight != 1.0 {
        output.extend_from_slice(b",\"_tg_weight\":");
        // serde_json writes the shortest text that reads back as the same float; writing to a
        // Vec cannot fail, and a float always serializes (non-finite ones as null).
        let _ = serde_json::to_writer(&mut *output, &weight);
    }
    output.extend_from_slice(b"}\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tagged(line: &str, has_members: bool, priority: Option<Priority>, weight: f64) -> String {
        let evaluation =
            UnitEvaluation { decision: Decision::Keep { weight }, refused_by: None, priority, event: None };
        let mut output = Vec::new();
        write_tagged(&mut output, line, has_members, &evaluation, weight);
        String::from_utf8(output).unwrap()
    }

    #[test]
    fn tags_go_last_and_keep_the_line_valid() {
        assert_eq!(
            tagged(r#"{"event":"a"}  "#, true, Some(Priority::P1), 1.0),
            "{\"event\":\"a\",\"_tg_priority\":\"P1\"}\n"
        );
        assert_eq!(tagged("{ }", false, None, 1.0), "{ \"_tg_priority\":null}\n");
        assert_eq!(
            tagged(r#"{"e":1}"#, true, Some(Priority::P3), 10.0),
            "{\"e\":1,\"_tg_priority\":\"P3\",\"_tg_weight\":10.0}\n"
        );
        let line = tagged(r#"{"e":1}"#, true, Some(Priority::P3), 9.060679369739143);
        let text = line.split("\"_tg_weight\":").nth(1).unwrap().trim_end_matches("}\n");
        assert_eq!(text.parse::<f64>(), Ok(9.060679369739143));
    }

    #[test]
    fn destinations_follow_priority() {
        assert_eq!(ByPriority::index(Some(Priority::P0)), 0);
        assert_eq!(ByPriority::index(Some(Priority::P3)), 3);
        assert_eq!(ByPriority::index(None), ByPriority::UNPRIORITISED);
    }

    use crate::test_support::{compiled, events, lines_of};
    use crate::{FilterStats, SizeSource};

    fn stats(plan: &CompiledPlan, counts: FilterCounts) -> FilterStats {
        FilterStats::from_counts(plan, Some("w".to_owned()), "in".to_owned(), counts)
    }

    #[test]
    fn a_block_is_its_lines_one_by_one() {
        for plan in
            [compiled(str::to_owned), compiled(|text| text.replace(r#""version":4"#, r#""version":4,"shadow":true"#))]
        {
            let filter = LineFilter::new(&plan, &FieldConfig::default()).unwrap();
            let block = events();
            let (mut whole, mut whole_split) = (Vec::new(), ByPriority::default());
            let mut whole_counts = FilterCounts::new(3, 100);
            filter.filter_block(&block, &mut whole, &mut whole_counts);
            filter.filter_block(&block, &mut whole_split, &mut FilterCounts::new(3, 100));

            let (mut one_by_one, mut one_by_one_split) = (Vec::new(), ByPriority::default());
            let mut line_counts = FilterCounts::new(3, 100);
            for line in lines_of(&block) {
                filter.filter_line(line, &mut one_by_one, &mut line_counts);
                filter.filter_line(line, &mut one_by_one_split, &mut FilterCounts::new(3, 100));
            }
            assert_eq!(String::from_utf8_lossy(&whole), String::from_utf8_lossy(&one_by_one));
            assert_eq!(whole_split, one_by_one_split);
            assert_eq!(whole_split.0.concat().len(), whole.len());
            let (whole, one_by_one) = (stats(&plan, whole_counts), stats(&plan, line_counts));
            assert_eq!(whole, one_by_one);
            assert_eq!(whole.lines, 41);
            assert!(whole.kept > 0 && whole.blank_lines > 0 && whole.malformed.count > 0, "{whole:?}");
            assert_eq!(whole.malformed.first.len(), 3);
        }
    }

    #[test]
    fn blocks_cut_at_line_boundaries_add_up_to_the_whole() {
        let plan = compiled(str::to_owned);
        let filter = LineFilter::new(&plan, &FieldConfig::default()).unwrap();
        let input = events();
        let mut expected_output = Vec::new();
        let mut expected = FilterCounts::new(100, 100);
        filter.filter_block(&input, &mut expected_output, &mut expected);
        let expected = stats(&plan, expected);
        let boundaries = input.iter().enumerate().filter(|(_, byte)| **byte == b'\n').map(|(at, _)| at + 1);
        for cut in boundaries.step_by(3) {
            let (first, second) = input.split_at(cut);
            let mut output = Vec::new();
            let mut counts = FilterCounts::new(100, 100);
            filter.filter_block(first, &mut output, &mut counts);
            let mut later = FilterCounts::new(100, 100);
            filter.filter_block(second, &mut output, &mut later);
            counts.merge(later);
            assert_eq!(output, expected_output, "cut at {cut}");
            assert_eq!(stats(&plan, counts), expected, "cut at {cut}");
        }
    }

    #[test]
    fn a_line_cut_across_blocks_is_filtered_as_two_lines() {
        let plan = compiled(str::to_owned);
        let filter = LineFilter::new(&plan, &FieldConfig::default()).unwrap();
        let line = br#"{"event":"p.zero","unit_id":"u1"}"#;
        let mut output = Vec::new();
        let mut counts = FilterCounts::new(10, 10);
        filter.filter_block(&line[..10], &mut output, &mut counts);
        filter.filter_block(&line[10..], &mut output, &mut counts);
        assert!(output.is_empty());
        assert_eq!((counts.lines.lines, counts.lines.malformed.count), (2, 2));
    }

    #[test]
    fn outcomes_say_what_became_of_a_line() {
        let plan = compiled(str::to_owned);
        let fields = FieldConfig { size: SizeSource::Field("meta.bytes".parse().unwrap()), ..FieldConfig::default() };
        let filter = LineFilter::new(&plan, &fields).unwrap();
        let mut output = Vec::new();
        let mut counts = FilterCounts::new(1, 10);
        assert_eq!(filter.filter_line(b" \r", &mut output, &mut counts), LineOutcome::Blank);
        let kept = filter.filter_line(br#"{"event":"p.low","meta":{"bytes":7}}"#, &mut output, &mut counts);
        assert!(matches!(kept, LineOutcome::Decided(UnitEvaluation { decision: Decision::Keep { .. }, .. })));
        let oversize = filter.filter_line(br#"{"event":"p.low","meta":{"bytes":700}}"#, &mut output, &mut counts);
        assert!(matches!(oversize, LineOutcome::Decided(UnitEvaluation { decision: Decision::Drop { .. }, .. })));
        let LineOutcome::Malformed(problem) = filter.filter_line(br#"{"event":"p.low"}"#, &mut output, &mut counts)
        else {
            panic!("a missing size field is malformed")
        };
        assert_eq!(problem.message, "the size field is missing or null");
        assert!(matches!(filter.filter_line(b"[]", &mut output, &mut counts), LineOutcome::Malformed(_)));
        assert_eq!(output, b"{\"event\":\"p.low\",\"meta\":{\"bytes\":7},\"_tg_priority\":\"P3\"}\n");
        // Both malformed lines are counted; only the first is listed, numbered among all lines.
        let malformed = &counts.lines.malformed;
        assert_eq!((malformed.count, malformed.first.len(), malformed.first[0].line), (2, 1, 4));
        assert_eq!((counts.lines.lines, counts.lines.blank_lines), (5, 1));
    }

    #[test]
    fn an_owning_filter_decides_as_a_borrowing_one() {
        fn long_lived<T: Send + Sync + 'static>(_: &T) {}
        let plan = compiled(str::to_owned);
        let block = events();
        let borrowing = LineFilter::new(&plan, &FieldConfig::default()).unwrap();
        let (mut expected, mut expected_counts) = (ByPriority::default(), FilterCounts::new(5, 100));
        borrowing.filter_block(&block, &mut expected, &mut expected_counts);

        let owning = LineFilter::owning(Arc::new(compiled(str::to_owned)), &FieldConfig::default()).unwrap();
        long_lived(&owning);
        let (mut output, mut counts) = (ByPriority::default(), FilterCounts::new(5, 100));
        owning.filter_block(&block, &mut output, &mut counts);
        assert_eq!(output, expected);
        assert_eq!(stats(owning.plan(), counts), stats(&plan, expected_counts));
    }

    #[test]
    fn field_clashes_are_refused_and_filters_are_shareable() {
        fn shareable<T: Send + Sync>(_: &T) {}
        let plan = compiled(str::to_owned);
        let same = FieldConfig { unit: "event".parse().unwrap(), ..FieldConfig::default() };
        assert!(matches!(LineFilter::new(&plan, &same), Err(FieldError::SameMember { .. })));
        shareable(&LineFilter::new(&plan, &FieldConfig::default()).unwrap());
    }
}
