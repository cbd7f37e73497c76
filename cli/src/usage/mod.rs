//! `trackgate usage`: which events anyone reads, from SQL lineage, routing rules and analytics.
//!
//! This module only does I/O: it reads the plans, the catalogue, the job files (every `.sql`
//! under `--jobs`, in path order), the query and analytics logs and the routing rules, hands the
//! texts to `trackgate-usage` (the analysis, sans-IO), and writes `usage.json` (exactly the
//! format `trackgate report --usage` reads), the evidence file, a summary and optionally an HTML
//! page. Problems in the inputs are printed as `FILE:LINE[:COLUMN]: message` warnings and the
//! rest is still analysed; only an unreadable file or an invalid catalogue or rules file stops
//! the command. Formats and semantics: `docs/usage.md`.

mod html;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use trackgate_usage::analysis::{latest_timestamp, Analysis, Evidence, Window};
use trackgate_usage::events::Universe;
use trackgate_usage::lineage::{Catalog, Lineage};
use trackgate_usage::time::parse_timestamp;

use crate::report::inputs::{parse_json, read_text};
use crate::validate::read_plan;
use crate::Failure;

/// Arguments of `trackgate usage`.
#[derive(Args)]
pub struct UsageArgs {
    /// The plan (repeat for several apps): the registered events.
    #[arg(long, required = true, value_name = "PLAN")]
    plan: Vec<PathBuf>,
    /// The catalogue: root tables and topics with their event and app columns, dimensions.
    #[arg(long, value_name = "CATALOG.json")]
    catalog: PathBuf,
    /// A directory of ETL jobs: every `.sql` file below it (several statements per file).
    #[arg(long, value_name = "DIR")]
    jobs: Option<PathBuf>,
    /// The warehouse query log (NDJSON: `ts`, `sql`, optional `user`).
    #[arg(long, value_name = "LOG.ndjson")]
    queries: Option<PathBuf>,
    /// Real-time routing rules (JSON: `{"rules": [{name, source, target, where}]}`).
    #[arg(long, value_name = "RULES.json")]
    routing: Option<PathBuf>,
    /// Behaviour-analytics log (NDJSON: `ts`, `events`, optional `user`, `app`, `kind`).
    #[arg(long, value_name = "LOG.ndjson")]
    analytics: Option<PathBuf>,
    /// Length of the window uses are counted in.
    #[arg(long, default_value_t = 90, value_name = "N")]
    days: u32,
    /// End of the window (UTC date-time or date); default: the latest timestamp in the logs.
    #[arg(long, value_name = "TIME")]
    now: Option<String>,
    /// Print the evidence (per event, with coverage) as JSON instead of the summary.
    #[arg(long)]
    json: bool,
    /// Also write the evidence as a self-contained HTML page.
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    /// Write `usage.json` (the input of `trackgate report --usage`) here.
    #[arg(short = 'o', long = "output", value_name = "usage.json")]
    output: Option<PathBuf>,
    /// Write the evidence here (default with `-o`: `NAME.evidence.json` beside it).
    #[arg(long, value_name = "FILE")]
    evidence: Option<PathBuf>,
}

fn sql_files(directory: &Path, files: &mut Vec<PathBuf>) -> Result<(), Failure> {
    let entries = std::fs::read_dir(directory)
        .map_err(|error| Failure::error(format!("cannot read {}: {error}", directory.display())))?;
    for entry in entries {
        let path =
            entry.map_err(|error| Failure::error(format!("cannot read {}: {error}", directory.display())))?.path();
        if path.is_dir() {
            sql_files(&path, files)?;
        } else if path.extension().is_some_and(|extension| extension.eq_ignore_ascii_case("sql")) {
            files.push(path);
        }
    }
    Ok(())
}

fn write(path: &Path, text: &str) -> Result<(), Failure> {
    crate::files::write_output(path, text.as_bytes())
}

/// Lines per chunk read from a log and fed to the analysis (and between progress updates).
const CHUNK_LINES: usize = 20_000;

/// Reads the NDJSON log at `path` in chunks of whole lines and hands each chunk to `feed` with
/// the number of its first line, so memory holds one chunk, not the log. A line that is not
/// UTF-8 is passed on with its bad bytes replaced (the analysis then reports it by line). Shows
/// a bar on stderr for large logs on interactive runs (`progress`).
fn stream_log(path: &Path, progress: bool, mut feed: impl FnMut(&str, u32)) -> Result<(), Failure> {
    use std::io::BufRead;
    let cannot_read = |error: std::io::Error| Failure::error(format!("cannot read {}: {error}", path.display()));
    let file = std::fs::File::open(path).map_err(cannot_read)?;
    let length = file.metadata().map(|metadata| metadata.len()).unwrap_or(0);
    let bar = if !progress || length < 1 << 20 || !std::io::stderr().is_terminal() {
        ProgressBar::hidden()
    } else {
        let bar = ProgressBar::new(length);
        if let Ok(style) = ProgressStyle::with_template("analysing {msg} [{bar:40}] {percent}% {eta} left") {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(path.display().to_string());
        bar
    };
    let mut reader = std::io::BufReader::with_capacity(1 << 20, file);
    let mut chunk = String::new();
    let mut line = Vec::new();
    let mut first_line = 1u32;
    let mut read = 0u64;
    loop {
        chunk.clear();
        let mut lines = 0u32;
        while (lines as usize) < CHUNK_LINES {
            line.clear();
            let count = reader.read_until(b'\n', &mut line).map_err(cannot_read)?;
            if count == 0 {
                break;
            }
            read += count as u64;
            lines += 1;
            chunk.push_str(&String::from_utf8_lossy(&line));
            if !chunk.ends_with('\n') {
                chunk.push('\n');
            }
        }
        if lines == 0 {
            break;
        }
        feed(&chunk, first_line);
        first_line = first_line.saturating_add(lines);
        bar.set_position(read);
    }
    bar.finish_and_clear();
    Ok(())
}

/// Runs `trackgate usage`.
pub fn run(args: &UsageArgs) -> Result<(), Failure> {
    let mut plans = Vec::new();
    for path in &args.plan {
        plans.push(read_plan(path)?.0);
    }
    let universe = Universe::new(
        plans.iter().map(|plan| (plan.app.as_str(), plan.events.keys().map(String::as_str).collect::<Vec<_>>())),
    );
    let catalog: Catalog = parse_json(&args.catalog, &read_text(&args.catalog)?)?;
    let mut job_files = Vec::new();
    if let Some(directory) = &args.jobs {
        let mut paths = Vec::new();
        sql_files(directory, &mut paths)?;
        paths.sort();
        for path in paths {
            // Job files are read as bytes so one non-UTF-8 file is a warning, not the end.
            let bytes = std::fs::read(&path)
                .map_err(|error| Failure::error(format!("cannot read {}: {error}", path.display())))?;
            let text = String::from_utf8_lossy(&bytes).into_owned();
            job_files.push((path.display().to_string(), text));
        }
    }
    let routing = args.routing.as_deref().map(read_text).transpose()?;
    let end_ms = match &args.now {
        Some(text) => parse_timestamp(text)
            .ok_or_else(|| Failure::error(format!("--now {text}: expected a UTC date (YYYY-MM-DD) or date-time")))?,
        None => {
            // A first pass over the logs finds the window's end; the logs are streamed twice
            // rather than held, so memory does not grow with them.
            let mut latest: Option<i64> = None;
            for path in [&args.queries, &args.analytics].into_iter().flatten() {
                stream_log(path, false, |chunk, _| latest = latest.max(latest_timestamp(chunk)))?;
            }
            latest.ok_or_else(|| Failure::error("no timestamp in the logs; give the window's end with --now"))?
        }
    };
    let mut lineage = Lineage::new(&universe, &catalog);
    lineage.add_jobs(&job_files);
    let mut analysis = Analysis::new(lineage, Window { days: args.days, end_ms });
    if let (Some(path), Some(text)) = (&args.routing, &routing) {
        analysis
            .add_routing(&path.display().to_string(), text)
            .map_err(|diagnostic| Failure::refused(diagnostic.to_string()))?;
    }
    if let Some(path) = &args.queries {
        let name = path.display().to_string();
        stream_log(path, !args.json, |chunk, first_line| analysis.add_queries_from(&name, chunk, first_line))?;
    }
    if let Some(path) = &args.analytics {
        let name = path.display().to_string();
        stream_log(path, !args.json, |chunk, first_line| analysis.add_analytics_from(&name, chunk, first_line))?;
    }
    let diagnostics: Vec<String> = analysis.diagnostics().iter().map(ToString::to_string).collect();
    let (usage, evidence) = analysis.finish();
    for diagnostic in diagnostics.iter().take(20) {
        eprintln!("trackgate: warning: {diagnostic}");
    }
    if diagnostics.len() > 20 {
        eprintln!(
            "trackgate: warning: {} more problems in the evidence's coverage.diagnostics",
            diagnostics.len() - 20
        );
    }
    if let Some(path) = &args.output {
        write(path, &pretty(&usage))?;
    }
    let evidence_path = args.evidence.clone().or_else(|| {
        args.output.as_ref().map(|output| {
            let stem = output.file_stem().map_or_else(|| "usage".into(), |stem| stem.to_string_lossy().into_owned());
            output.with_file_name(format!("{stem}.evidence.json"))
        })
    });
    if let Some(path) = &evidence_path {
        write(path, &pretty(&evidence))?;
    }
    if let Some(path) = &args.html {
        write(path, &html::render(&evidence))?;
    }
    if args.json {
        outln!("{}", pretty(&evidence));
    } else {
        out!("{}", summary(&evidence, usage.events.len()));
    }
    Ok(())
}

/// Pretty JSON with a final newline.
fn pretty<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default() + "\n"
}

fn summary(evidence: &Evidence, used_names: usize) -> String {
    let coverage = &evidence.coverage;
    let number = |field: &str| coverage[field].as_u64().unwrap_or(0);
    let mut text =
        format!("usage from {} to {} ({} days)\n", evidence.window_start, evidence.window_end, evidence.days);
    let unused = evidence
        .events
        .iter()
        .filter(|event| event.warehouse_queries + event.behaviour_queries == 0 && event.realtime_rules.is_empty())
        .count();
    text += &format!(
        "events: {} registered, {used_names} names used, {unused} (app, event) pairs unused\n",
        evidence.events.len()
    );
    text += &format!(
        "statements: {} job statements ({} skipped), {} query lines ({} in window, {} distinct), {} routing rules, {} analytics queries\n",
        number("job_statements"),
        number("job_statements_skipped"),
        number("query_lines"),
        number("queries_in_window"),
        number("distinct_queries"),
        number("routing_rules"),
        number("analytics_in_window"),
    );
    text += &format!(
        "resolution: {} parsed, {} resolved exactly",
        number("statements_parsed"),
        number("statements_resolved")
    );
    if let Some(reasons) = coverage["unresolved_by_reason"].as_object() {
        let parts: Vec<String> = reasons.iter().map(|(reason, count)| format!("{reason} {count}")).collect();
        if !parts.is_empty() {
            text += &format!("; unresolved (counted conservatively): {}", parts.join(", "));
        }
    }
    text.push('\n');
    for (field, label) in [
        ("unknown_tables", "unknown tables"),
        ("tables_with_unknown_set", "tables with an over-approximated event set"),
    ] {
        if let Some(list) = coverage[field].as_array().filter(|list| !list.is_empty()) {
            let names: Vec<&str> = list.iter().filter_map(serde_json::Value::as_str).collect();
            text += &format!("{label}: {}\n", names.join(", "));
        }
    }
    text
}
