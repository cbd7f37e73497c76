//! `trackgate report`: the governance cost report, from what the gates counted.
//!
//! Reads counts (the filter's `--stats` files and SDK `DropReport`s, one or more per window),
//! optional unit prices, usage, rules and the plan ([`inputs`]), computes the metrics and
//! candidates with `trackgate_governance::report` (their one home) and shows them as a terminal
//! table ([`text`]), JSON, or one self-contained HTML page with inline SVG charts ([`html`]).
//! Single-threaded; reads every input whole before writing anything, so a bad input never
//! leaves a half-written page. Formats and metrics:
//! `docs/report.md`.

pub mod evidence;
pub mod html;
pub mod inputs;
pub mod text;

use std::path::PathBuf;

use clap::Args;
use trackgate_core::Plan;

use crate::validate::read_plan;
use crate::Failure;
use inputs::{read_counts, read_json};
use trackgate_governance::report::{compute, Prices, ReportInputs, Thresholds, Usage};

/// Arguments of `trackgate report`.
#[derive(Args)]
pub struct ReportArgs {
    /// Counts files: `trackgate filter --stats` output or SDK drop reports (JSON, or NDJSON with
    /// one report per line, as `serve --collect` writes), any number; files of the same window
    /// (label or UTC day) are added together. Example: `trackgate report stats.json
    /// collected.ndjson`.
    #[arg(required = true, value_name = "COUNTS")]
    counts: Vec<PathBuf>,
    /// The plan, for owners, statuses and sampling rates.
    #[arg(long, value_name = "FILE")]
    plan: Option<PathBuf>,
    /// Unit prices: `{"currency", "per_million_events", "per_gb"}`.
    #[arg(long, value_name = "FILE")]
    prices: Option<PathBuf>,
    /// Usage per event and user active time: `{"days", "events": {...}, "active_hours": {...}}`.
    #[arg(long, value_name = "FILE")]
    usage: Option<PathBuf>,
    /// Usage evidence (`trackgate usage`'s evidence file): each candidate's `why` cites it.
    #[arg(long, value_name = "FILE")]
    evidence: Option<PathBuf>,
    /// Candidate and anomaly thresholds (every field optional; defaults otherwise).
    #[arg(long, value_name = "FILE")]
    rules: Option<PathBuf>,
    /// Print the report as JSON instead of tables.
    #[arg(long)]
    json: bool,
    /// Also write the report as one self-contained HTML page.
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    /// With --html: add a section with the owner worklists of this proposal (`trackgate propose`).
    #[arg(long, value_name = "FILE", requires = "html")]
    proposal: Option<PathBuf>,
    /// With --proposal: the time the worklists are made for (RFC 3339; default: now).
    #[arg(long, value_name = "TIME", requires = "proposal")]
    now: Option<String>,
}

/// Runs `trackgate report`.
pub fn run(args: &ReportArgs) -> Result<(), Failure> {
    let windows = read_counts(&args.counts)?;
    let plan: Option<Plan> = args.plan.as_deref().map(read_plan).transpose()?.map(|(plan, _warnings)| plan);
    let prices: Prices = match &args.prices {
        Some(path) => {
            let prices: Prices = read_json(path)?;
            prices.check().map_err(|problem| Failure::refused(format!("{}: {problem}", path.display())))?;
            prices
        }
        None => Prices::default(),
    };
    let usage: Option<Usage> = args.usage.as_deref().map(read_json).transpose()?;
    let rules: Thresholds = match &args.rules {
        Some(path) => {
            let rules: Thresholds = read_json(path)?;
            rules.check().map_err(|problem| Failure::refused(format!("{}: {problem}", path.display())))?;
            rules
        }
        None => Thresholds::default(),
    };
    let evidence = match &args.evidence {
        Some(path) => Some(evidence::sentences(path, &read_json(path)?)?),
        None => None,
    };
    let mut report = compute(&ReportInputs {
        windows: &windows,
        plan: plan.as_ref(),
        prices: &prices,
        usage: usage.as_ref(),
        rules: &rules,
    });
    if let Some(evidence) = &evidence {
        for candidate in report.candidates_by_owner.values_mut().flatten() {
            let sentence = evidence.get(&candidate.event).map_or("not in the usage evidence", String::as_str);
            candidate.why = format!("{}; evidence: {sentence}", candidate.why);
        }
    }
    let worklists = match &args.proposal {
        Some(path) => {
            let now = crate::governance::now(args.now.as_deref())?;
            Some(trackgate_governance::worklists(&crate::governance::read_proposal(path)?, now, None))
        }
        None => None,
    };
    if let Some(path) = &args.html {
        crate::files::write_output(path, html::render(&report, worklists.as_ref()).as_bytes())?;
    }
    if args.json {
        let text = serde_json::to_string_pretty(&report).map_err(|error| Failure::error(error.to_string()))?;
        outln!("{text}");
    } else {
        out!("{}", text::render(&report));
    }
    Ok(())
}
