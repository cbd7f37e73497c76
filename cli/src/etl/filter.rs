//! `trackgate filter`: applies a plan to a stream of NDJSON events on the server.
//!
//! Owns the command's arguments and the pipeline around the line filter: input, threads,
//! progress, outputs, the stats file and the summary. Deciding and tagging each line, and
//! counting, is `trackgate_etl::LineFilter` (every decision the core's own
//! `CompiledPlan::evaluate_for_unit`); this module feeds it blocks and writes what it returns.
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
use std::sync::mpsc;
use std::time::Instant;

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use trackgate_core::plan::UnregisteredPolicy;
use trackgate_core::{CompiledPlan, Plan, Priority};
use trackgate_etl::{
    ByPriority, FieldConfig, FieldError, FieldPath, FilterCounts, FilterStats, LineCounts, LineFilter, NameTallies,
    SizeSource,
};

use super::input::{open_input, BlockReader};
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

/// The library's message for a field configuration, worded for the command's options.
fn field_failure(error: FieldError) -> Failure {
    match error {
        FieldError::SameMember { json_path } => Failure::error(format!("two options read the same field {json_path}")),
        other => Failure::error(other.to_string()),
    }
}

/// What one block produced, handed from a worker to the collector.
struct BlockResult {
    /// Kept lines, tagged; only `[0]` unless split by priority.
    outputs: ByPriority,
    /// The block's bytes, for progress.
    input_bytes: u64,
    /// Lines, blank and malformed lines of the block, numbered from 1 within it.
    lines: LineCounts,
}

/// One worker thread's state.
struct Worker<'run> {
    filter: &'run LineFilter<'run>,
    split: bool,
    /// The worker's per-name tallies; line counts are handed out with each block.
    counts: FilterCounts,
}

impl Worker<'_> {
    fn process(&mut self, block: &[u8]) -> BlockResult {
        let mut outputs = ByPriority::default();
        if self.split {
            self.filter.filter_block(block, &mut outputs, &mut self.counts);
        } else {
            outputs.0[0].reserve(block.len());
            self.filter.filter_block(block, &mut outputs.0[0], &mut self.counts);
        }
        let fresh = LineCounts::new(self.counts.lines.malformed.listed_limit);
        BlockResult {
            outputs,
            input_bytes: block.len() as u64,
            lines: std::mem::replace(&mut self.counts.lines, fresh),
        }
    }
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
        for index in 0..ByPriority::COUNT {
            let file_name = match Priority::ALL.get(index) {
                Some(priority) => format!("{priority}.ndjson"),
                None => "unregistered.ndjson".to_owned(),
            };
            let path = directory.join(&file_name);
            let wanted = index != ByPriority::UNPRIORITISED || keeps_unprioritised;
            writers.push(if wanted { Some(open_file(&path)?) } else { None });
            names.push(path.display().to_string());
        }
        Ok(Sink { writers, names })
    }

    fn write(&mut self, outputs: &ByPriority) -> Result<(), Failure> {
        for ((writer, name), output) in self.writers.iter_mut().zip(&self.names).zip(&outputs.0) {
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
    /// Every block's line counts so far, in input order.
    lines: LineCounts,
    input_bytes: u64,
    progress: Option<ProgressBar>,
    started: Instant,
}

impl Collector<'_> {
    fn accept(&mut self, result: BlockResult) -> Result<(), Failure> {
        if let (true, Some(first)) = (self.strict, result.lines.malformed.first.first()) {
            let line = self.lines.lines + first.line;
            return Err(Failure::refused(format!(
                "{}:{line}:{}: malformed line: {}",
                self.input_name, first.column, first.message
            )));
        }
        self.sink.write(&result.outputs)?;
        self.lines.append(result.lines);
        self.input_bytes += result.input_bytes;
        if let Some(progress) = &self.progress {
            let seconds = self.started.elapsed().as_secs_f64().max(1e-9);
            progress.set_message(format!(
                "{} lines, {:.1} MB read, {:.0} lines/s, {} malformed",
                self.lines.lines,
                self.input_bytes as f64 / 1e6,
                self.lines.lines as f64 / seconds,
                self.lines.malformed.count
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
    let fields =
        FieldConfig { name: args.name_field.clone(), unit: args.unit_field.clone(), size: args.size_from.clone() };
    let filter = LineFilter::new(&compiled, &fields).map_err(field_failure)?;
    let input_name = args.input.as_ref().map_or_else(|| "-".to_owned(), |path| path.display().to_string());
    let input = open_input(args.input.as_deref())
        .map_err(|error| Failure::error(format!("cannot read {input_name}: {error}")))?;
    let mut collector = Collector {
        sink: Sink::open(args.output.as_deref(), args.split_by_priority.as_deref(), &plan)?,
        input_name: &input_name,
        strict: args.strict,
        lines: LineCounts::new(args.malformed_listed),
        input_bytes: 0,
        progress: progress_bar(),
        started: Instant::now(),
    };
    let threads = args.threads.map_or_else(crate::threads::available, NonZeroUsize::get);
    let new_worker = || Worker {
        filter: &filter,
        split: args.split_by_priority.is_some(),
        counts: FilterCounts::new(args.malformed_listed, args.track_names),
    };
    let tallies = if threads == 1 {
        run_on_this_thread(input, new_worker(), &mut collector)
    } else {
        run_on_threads(input, (0..threads).map(|_| new_worker()).collect(), &mut collector)
    }?;
    if let Some(progress) = &collector.progress {
        progress.finish_and_clear();
    }
    // The first worker's tallies take the others' in: with one thread nothing is copied.
    let mut tallies = tallies.into_iter();
    let mut names = tallies.next().unwrap_or_else(|| NameTallies::new(args.track_names));
    for worker_tallies in tallies {
        names.merge(worker_tallies);
    }
    let counts = FilterCounts { lines: std::mem::take(&mut collector.lines), names };
    let stats = FilterStats::from_counts(&compiled, args.window.clone(), input_name.clone(), counts);
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
    Ok(vec![worker.counts.names])
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
                worker.counts.names
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

fn write_stats(path: &Path, stats: &FilterStats) -> Result<(), Failure> {
    crate::files::write_output(path, stats.to_json().as_bytes())
}
