//! `trackgate filter`: applies a plan to a stream of NDJSON events on the server.
//!
//! Owns the command's arguments, the per-line decision and tagging, and the pipeline around it.
//! Every decision is the core's own [`CompiledPlan::evaluate_for_unit`] (all rules except rate
//! limits, which are device state); this module only finds the fields and writes the result.
//!
//! Threading: with `--threads 1` one thread reads, filters and writes. With more, a reader thread
//! cuts the input into blocks of whole lines and deals them round-robin to the workers; the main
//! thread takes the results back in the same round-robin order and writes them, so the output
//! is in input order and byte-identical whatever the thread count. Channels are bounded, so
//! memory stays at a few blocks per thread however large the input.
//!
//! I/O guarantees: input is read once, sequentially (stdin or a file, gzip detected by magic
//! bytes); output goes to stdout, a file, or one file per priority. A malformed line is counted
//! (first ones listed with line:column) and skipped, never fatal unless `--strict`. On any
//! failure the exit code says so (1 refused input, 2 I/O or usage); output written before a
//! failure is left in place, and the stats file is only written by a complete run.

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal as _, Read, Write};
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::mpsc;
use std::time::Instant;

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use trackgate_core::plan::UnregisteredPolicy;
use trackgate_core::{CompiledPlan, Decision, Plan, Priority, UnitEvaluation};

use super::fields::{FieldPath, FieldScanner, LineProblem};
use super::input::{open_input, BlockReader};
use super::stats::{EventStats, FilterStats, MalformedLine, MalformedSummary, NameTallies, PlanIdentity, STATS_FORMAT};
use crate::validate::read_plan;
use crate::Failure;

/// Blocks queued per worker in each direction; enough to hide hand-off latency.
const QUEUE_BLOCKS: usize = 2;

/// Arguments of `trackgate filter`.
#[derive(Args)]
pub struct FilterArgs {
    /// The plan JSON file.
    #[arg(long, value_name = "FILE")]
    plan: PathBuf,
    /// Dotted path of the event name member.
    #[arg(long, value_name = "PATH", default_value = "event")]
    name_field: FieldPath,
    /// Dotted path of the sampling unit member (missing or null: the empty string).
    #[arg(long, value_name = "PATH", default_value = "unit_id")]
    unit_field: FieldPath,
    /// Event size for `max_bytes`: `line` (the line's bytes, without its line ending) or
    /// `field:PATH` (a non-negative integer member).
    #[arg(long, value_name = "line|field:PATH", default_value = "line")]
    size_from: SizeSource,
    /// Worker threads (default: the available cores). The output does not depend on it.
    #[arg(long)]
    threads: Option<NonZeroUsize>,
    /// Write counts and bytes per event and reason, and malformed lines, as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    stats: Option<PathBuf>,
    /// A label for this input's period (e.g. 2026-11-01), recorded in the stats for `report`.
    #[arg(long, value_name = "LABEL")]
    window: Option<String>,
    /// Write one file per priority into DIR (P0.ndjson .. P3.ndjson, and unregistered.ndjson
    /// when the plan keeps events without a priority) instead of one output.
    #[arg(long, value_name = "DIR", conflicts_with = "output")]
    split_by_priority: Option<PathBuf>,
    /// Stop with exit code 1 at the first malformed line, naming line:column.
    #[arg(long)]
    strict: bool,
    /// How many malformed lines the stats list one by one (all are counted).
    #[arg(long, value_name = "N", default_value_t = 100)]
    malformed_listed: usize,
    /// How many names that are not in the plan the stats list one by one (the rest are
    /// counted together as untracked).
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    track_names: usize,
    /// NDJSON input, plain or gzip (default: stdin).
    input: Option<PathBuf>,
    /// Where kept events go (default: stdout).
    output: Option<PathBuf>,
}

/// Where the size compared with `max_bytes` comes from.
#[derive(Debug, Clone)]
pub enum SizeSource {
    /// The line's byte length without its line ending.
    Line,
    /// An integer member of the event.
    Field(FieldPath),
}

impl FromStr for SizeSource {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.strip_prefix("field:") {
            Some(path) => Ok(SizeSource::Field(path.parse()?)),
            None if text == "line" => Ok(SizeSource::Line),
            None => Err(format!("expected `line` or `field:PATH`, found `{text}`")),
        }
    }
}

/// Output destinations: one stream, or one per priority plus one for kept events without one.
const DESTINATIONS: usize = 5;
const UNPRIORITISED: usize = 4;

fn destination(priority: Option<Priority>) -> usize {
    priority.map_or(UNPRIORITISED, |priority| priority as usize)
}

/// Everything a worker needs to decide and tag lines; shared read-only between threads.
struct LineFilter<'run> {
    plan: &'run CompiledPlan,
    scanner: FieldScanner,
    size_from_field: bool,
    split: bool,
}

/// What one block produced.
#[derive(Default)]
struct BlockResult {
    /// Kept lines, tagged; only `[0]` unless split by priority.
    outputs: [Vec<u8>; DESTINATIONS],
    lines: u64,
    input_bytes: u64,
    blank_lines: u64,
    malformed_count: u64,
    malformed_bytes: u64,
    /// The first malformed lines of the block, numbered from 1 within the block.
    malformed: Vec<MalformedLine>,
}

/// One worker thread's state.
struct Worker<'run> {
    filter: &'run LineFilter<'run>,
    tallies: NameTallies,
    malformed_listed: usize,
}

impl<'run> Worker<'run> {
    fn process(&mut self, block: &[u8]) -> BlockResult {
        let mut result = BlockResult::default();
        result.outputs[0].reserve(block.len());
        result.input_bytes = block.len() as u64;
        let mut start = 0;
        while start < block.len() {
            let end = memchr::memchr(b'\n', &block[start..]).map_or(block.len(), |position| start + position);
            result.lines += 1;
            self.process_line(&block[start..end], &mut result);
            start = end + 1;
        }
        result
    }

    fn process_line(&mut self, raw: &[u8], result: &mut BlockResult) {
        let line = raw.strip_suffix(b"\r").unwrap_or(raw);
        if line.iter().all(u8::is_ascii_whitespace) {
            result.blank_lines += 1;
            return;
        }
        let outcome = std::str::from_utf8(line)
            .map_err(|error| LineProblem { column: error.valid_up_to() + 1, message: "invalid UTF-8".into() })
            .and_then(|text| self.decide(text, result));
        if let Err(problem) = outcome {
            result.malformed_count += 1;
            result.malformed_bytes += line.len() as u64;
            if result.malformed.len() < self.malformed_listed {
                let line = result.lines;
                result.malformed.push(MalformedLine { line, column: problem.column, message: problem.message });
            }
        }
    }

    fn decide(&mut self, line: &str, result: &mut BlockResult) -> Result<(), LineProblem> {
        let filter = self.filter;
        let scanned = filter.scanner.scan(line)?;
        let size = if filter.size_from_field {
            scanned
                .size
                .ok_or_else(|| LineProblem { column: 1, message: "the size field is missing or null".into() })?
        } else {
            line.len() as u64
        };
        let name = scanned.name.as_deref().unwrap_or("");
        let evaluation = filter.plan.evaluate_for_unit(name, size, scanned.unit.as_deref().unwrap_or(""));
        self.tallies.count(name, &evaluation, size);
        if let Decision::Keep { weight } = evaluation.decision {
            let output = if filter.split { destination(evaluation.priority) } else { 0 };
            write_tagged(&mut result.outputs[output], line, scanned.has_members, &evaluation, weight);
        }
        Ok(())
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
        // serde_json writes the shortest text that reads back as the same float.
        serde_json::to_writer(&mut *output, &weight).expect("writing to a Vec cannot fail");
    }
    output.extend_from_slice(b"}\n");
}

/// Where kept lines are written.
struct Sink {
    writers: Vec<Option<BufWriter<Box<dyn Write>>>>,
    names: Vec<String>,
}

impl Sink {
    fn open(output: Option<&Path>, split: Option<&Path>, plan: &Plan) -> Result<Sink, Failure> {
        let open_file = |path: &Path| -> Result<BufWriter<Box<dyn Write>>, Failure> {
            let file = File::create(path)
                .map_err(|error| Failure::error(format!("cannot create {}: {error}", path.display())))?;
            Ok(BufWriter::with_capacity(1 << 20, Box::new(file) as Box<dyn Write>))
        };
        let Some(directory) = split else {
            let (writer, name) = match output {
                Some(path) if path != Path::new("-") => (open_file(path)?, path.display().to_string()),
                _ => (BufWriter::with_capacity(1 << 20, Box::new(io::stdout()) as Box<dyn Write>), STDOUT_NAME.into()),
            };
            return Ok(Sink { writers: vec![Some(writer)], names: vec![name] });
        };
        std::fs::create_dir_all(directory)
            .map_err(|error| Failure::error(format!("cannot create {}: {error}", directory.display())))?;
        // Events without a priority are kept only when the plan keeps unregistered names or
        // only counts (shadow); otherwise no such file is made.
        let keeps_unprioritised = plan.unregistered == UnregisteredPolicy::Keep || plan.shadow;
        let mut writers = Vec::new();
        let mut names = Vec::new();
        for index in 0..DESTINATIONS {
            let file_name = match Priority::ALL.get(index) {
                Some(priority) => format!("{priority}.ndjson"),
                None => "unregistered.ndjson".to_owned(),
            };
            let path = directory.join(&file_name);
            let wanted = index != UNPRIORITISED || keeps_unprioritised;
            writers.push(if wanted { Some(open_file(&path)?) } else { None });
            names.push(path.display().to_string());
        }
        Ok(Sink { writers, names })
    }

    fn write(&mut self, outputs: &[Vec<u8>; DESTINATIONS]) -> Result<(), Failure> {
        for ((writer, name), output) in self.writers.iter_mut().zip(&self.names).zip(outputs) {
            if output.is_empty() {
                continue;
            }
            // A kept line without a writer would be lost silently; how the sink was opened rules it out.
            let writer = writer.as_mut().ok_or_else(|| Failure::error(format!("no output open for {name}")))?;
            writer.write_all(output).map_err(|error| write_error(name, &error))?;
        }
        Ok(())
    }

    fn finish(self) -> Result<(), Failure> {
        for (writer, name) in self.writers.into_iter().zip(&self.names) {
            if let Some(mut writer) = writer {
                writer.flush().map_err(|error| write_error(name, &error))?;
            }
        }
        Ok(())
    }
}

/// A failed write to an output; on stdout a closed pipe ends the command quietly (`output`).
fn write_error(name: &str, error: &io::Error) -> Failure {
    if name == STDOUT_NAME {
        crate::output::write_failure(error)
    } else {
        Failure::error(format!("cannot write {name}: {error}"))
    }
}

/// The output name of stdout in messages.
const STDOUT_NAME: &str = "stdout";

/// Takes block results in input order: writes them, numbers malformed lines, shows progress.
struct Collector<'run> {
    sink: Sink,
    input_name: &'run str,
    strict: bool,
    lines_before: u64,
    input_bytes: u64,
    blank_lines: u64,
    malformed: MalformedSummary,
    progress: Option<ProgressBar>,
    started: Instant,
}

impl Collector<'_> {
    fn accept(&mut self, result: BlockResult) -> Result<(), Failure> {
        if let (true, Some(first)) = (self.strict, result.malformed.first()) {
            let line = self.lines_before + first.line;
            return Err(Failure::refused(format!(
                "{}:{line}:{}: malformed line: {}",
                self.input_name, first.column, first.message
            )));
        }
        self.sink.write(&result.outputs)?;
        for mut malformed in result.malformed {
            if self.malformed.first.len() < self.malformed.listed_limit {
                malformed.line += self.lines_before;
                self.malformed.first.push(malformed);
            }
        }
        self.malformed.count += result.malformed_count;
        self.malformed.bytes += result.malformed_bytes;
        self.lines_before += result.lines;
        self.input_bytes += result.input_bytes;
        self.blank_lines += result.blank_lines;
        if let Some(progress) = &self.progress {
            let seconds = self.started.elapsed().as_secs_f64().max(1e-9);
            progress.set_message(format!(
                "{} lines, {:.1} MB read, {:.0} lines/s, {} malformed",
                self.lines_before,
                self.input_bytes as f64 / 1e6,
                self.lines_before as f64 / seconds,
                self.malformed.count
            ));
        }
        Ok(())
    }
}

fn progress_bar() -> Option<ProgressBar> {
    if !io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} {elapsed} {msg}").unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    Some(bar)
}

/// Runs `trackgate filter`.
pub fn run(args: &FilterArgs) -> Result<(), Failure> {
    let (plan, _warnings) = read_plan(&args.plan)?;
    let compiled =
        CompiledPlan::compile(&plan).map_err(|error| Failure::refused(format!("{}: {error}", args.plan.display())))?;
    let size_field = match &args.size_from {
        SizeSource::Line => None,
        SizeSource::Field(path) => Some(path),
    };
    let scanner = FieldScanner::new(&args.name_field, &args.unit_field, size_field).map_err(Failure::error)?;
    let filter = LineFilter {
        plan: &compiled,
        scanner,
        size_from_field: size_field.is_some(),
        split: args.split_by_priority.is_some(),
    };
    let input_name = args.input.as_ref().map_or_else(|| "-".to_owned(), |path| path.display().to_string());
    let input = open_input(args.input.as_deref())
        .map_err(|error| Failure::error(format!("cannot read {input_name}: {error}")))?;
    let mut collector = Collector {
        sink: Sink::open(args.output.as_deref(), args.split_by_priority.as_deref(), &plan)?,
        input_name: &input_name,
        strict: args.strict,
        lines_before: 0,
        input_bytes: 0,
        blank_lines: 0,
        malformed: MalformedSummary { listed_limit: args.malformed_listed, ..MalformedSummary::default() },
        progress: progress_bar(),
        started: Instant::now(),
    };
    let threads = args.threads.map_or_else(available_threads, NonZeroUsize::get);
    let new_worker = || Worker {
        filter: &filter,
        tallies: NameTallies::new(args.track_names),
        malformed_listed: args.malformed_listed,
    };
    let tallies = if threads == 1 {
        run_on_this_thread(input, new_worker(), &mut collector)
    } else {
        run_on_threads(input, (0..threads).map(|_| new_worker()).collect(), &mut collector)
    }?;
    if let Some(progress) = &collector.progress {
        progress.finish_and_clear();
    }
    let stats = assemble_stats(args, &input_name, &compiled, &collector, tallies);
    collector.sink.finish()?;
    if let Some(path) = &args.stats {
        write_stats(path, &stats)?;
    }
    for line in summary_lines(&stats) {
        eprintln!("{line}");
    }
    Ok(())
}

/// What a finished run tells stderr, terminal or not: one summary line, and a warning line
/// when malformed lines were skipped (the first one named `INPUT:LINE:COLUMN`). Stdout only
/// ever carries kept events.
fn summary_lines(stats: &FilterStats) -> Vec<String> {
    let malformed = &stats.malformed;
    let mut lines = vec![format!(
        "trackgate filter: {}: {} lines, {} kept, {} dropped, {} malformed",
        stats.input,
        stats.lines,
        stats.kept,
        stats.offered.saturating_sub(stats.kept),
        malformed.count
    )];
    if malformed.count > 0 {
        let first = malformed.first.first().map_or_else(String::new, |line| {
            format!("; first at {}:{}:{}: {}", stats.input, line.line, line.column, line.message)
        });
        lines.push(format!(
            "trackgate filter: warning: {} malformed line(s) skipped{first} (--strict refuses them, --stats lists them)",
            malformed.count
        ));
    }
    lines
}

fn available_threads() -> usize {
    std::thread::available_parallelism().map_or(1, NonZeroUsize::get)
}

fn read_failure(input_name: &str) -> impl Fn(io::Error) -> Failure + '_ {
    move |error| Failure::error(format!("cannot read {input_name}: {error}"))
}

fn run_on_this_thread(
    input: Box<dyn Read + Send>,
    mut worker: Worker<'_>,
    collector: &mut Collector<'_>,
) -> Result<Vec<NameTallies>, Failure> {
    let mut reader = BlockReader::new(input);
    let mut buffer = Vec::new();
    while let Some(block) = reader.next_block(buffer).map_err(read_failure(collector.input_name))? {
        collector.accept(worker.process(&block))?;
        buffer = block;
    }
    Ok(vec![worker.tallies])
}

fn run_on_threads(
    input: Box<dyn Read + Send>,
    workers: Vec<Worker<'_>>,
    collector: &mut Collector<'_>,
) -> Result<Vec<NameTallies>, Failure> {
    let count = workers.len();
    std::thread::scope(|scope| {
        let (recycled_sender, recycled) = mpsc::channel::<Vec<u8>>();
        let mut block_senders = Vec::with_capacity(count);
        let mut result_receivers = Vec::with_capacity(count);
        let mut worker_handles = Vec::with_capacity(count);
        for mut worker in workers {
            let (block_sender, blocks) = mpsc::sync_channel::<Vec<u8>>(QUEUE_BLOCKS);
            let (result_sender, results) = mpsc::sync_channel::<BlockResult>(QUEUE_BLOCKS);
            let recycle = recycled_sender.clone();
            block_senders.push(block_sender);
            result_receivers.push(results);
            worker_handles.push(scope.spawn(move || {
                for block in blocks {
                    if result_sender.send(worker.process(&block)).is_err() {
                        break;
                    }
                    // The reader may have finished already; then the buffer is simply freed.
                    let _ = recycle.send(block);
                }
                worker.tallies
            }));
        }
        drop(recycled_sender);
        let reader = scope.spawn(move || -> io::Result<()> {
            let mut reader = BlockReader::new(input);
            for turn in 0.. {
                let buffer = recycled.try_recv().unwrap_or_default();
                let Some(block) = reader.next_block(buffer)? else { break };
                if block_senders[turn % count].send(block).is_err() {
                    break; // the collector stopped early; its error is reported
                }
            }
            Ok(())
        });
        // Results come back in the order blocks were dealt, so output keeps input order. The
        // first worker with nothing more to give marks the end of the input.
        let mut collected = Ok(());
        for turn in 0.. {
            let Ok(result) = result_receivers[turn % count].recv() else { break };
            collected = collector.accept(result);
            if collected.is_err() {
                break;
            }
        }
        // Closing the result queues stops the workers, which stops the reader.
        drop(result_receivers);
        let tallies: Vec<NameTallies> =
            worker_handles.into_iter().map(|handle| handle.join().expect("filter worker panicked")).collect();
        let read = reader.join().expect("input reader panicked");
        collected?;
        read.map_err(read_failure(collector.input_name))?;
        Ok(tallies)
    })
}

fn assemble_stats(
    args: &FilterArgs,
    input_name: &str,
    plan: &CompiledPlan,
    collector: &Collector<'_>,
    tallies: Vec<NameTallies>,
) -> FilterStats {
    let (by_name, untracked) = NameTallies::merge_all(tallies);
    let mut stats = FilterStats {
        format: STATS_FORMAT.to_owned(),
        window: args.window.clone(),
        input: input_name.to_owned(),
        plan: PlanIdentity {
            app: plan.app().to_owned(),
            env: plan.env().to_owned(),
            version: plan.version(),
            shadow: plan.is_shadow(),
        },
        lines: collector.lines_before,
        blank_lines: collector.blank_lines,
        malformed: collector.malformed.clone(),
        ..FilterStats::default()
    };
    for (name, tally) in &by_name {
        stats.add_totals(tally);
        stats.events.push(EventStats::from_tally(name, tally));
    }
    if untracked.offered > 0 {
        stats.add_totals(&untracked);
        stats.untracked = Some(EventStats::from_tally("", &untracked));
    }
    stats
}

fn write_stats(path: &Path, stats: &FilterStats) -> Result<(), Failure> {
    let mut text = serde_json::to_string_pretty(stats).map_err(|error| Failure::error(error.to_string()))?;
    text.push('\n');
    std::fs::write(path, text).map_err(|error| Failure::error(format!("cannot write {}: {error}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tagged(line: &str, has_members: bool, priority: Option<Priority>, weight: f64) -> String {
        let evaluation = UnitEvaluation { decision: Decision::Keep { weight }, refused_by: None, priority };
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
    fn size_sources_parse() {
        assert!(matches!("line".parse::<SizeSource>(), Ok(SizeSource::Line)));
        assert!(matches!("field:meta.bytes".parse::<SizeSource>(), Ok(SizeSource::Field(_))));
        assert!("bytes".parse::<SizeSource>().is_err());
        assert!("field:".parse::<SizeSource>().is_err());
    }

    #[test]
    fn destinations_follow_priority() {
        assert_eq!(destination(Some(Priority::P0)), 0);
        assert_eq!(destination(Some(Priority::P3)), 3);
        assert_eq!(destination(None), UNPRIORITISED);
    }
}
