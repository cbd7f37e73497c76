//! `trackgate demo`: runs a plan on simulated devices and summarises what it keeps and drops;
//! with `--governance`, runs the whole governance loop on them instead (`governance.rs`).
//!
//! Owns the traffic simulator (`traffic.rs`: a seeded session model per device), the parallel
//! run over devices (`simulate.rs`), the sums of their reports (`tally.rs`) and the summary
//! (`summary.rs`, printed as JSON or as text tables by `render.rs`). Guarantees:
//! - Deterministic: the same plan, `--seed` and `--devices` give byte-identical output whatever
//!   the number of threads. Traffic comes from a SplitMix64 stream per device
//!   (`trackgate_core::SplitMix64`, never `rand`, whose algorithms may change between versions), time from a `ManualClock`,
//!   and per-device reports are summed in fixed blocks of devices merged in block order, so
//!   even float sums do not depend on scheduling.
//! - Faithful: every simulated device has its own `Engine` (rate limits are per device) and
//!   every number shown comes from the engines' `take_report()`, except the true counts,
//!   which the simulator keeps itself to check the engine's weighted estimates against.

mod governance;
mod render;
mod rollout;
mod simulate;
mod summary;
mod tally;
mod traffic;

use std::io::IsTerminal as _;
use std::num::NonZeroUsize;
use std::path::PathBuf;

use clap::builder::{PossibleValuesParser, TypedValueParser as _};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use trackgate_core::{parse_plan, Plan, Priority};

use crate::validate::read_plan;
use crate::{threads, Failure};

use simulate::simulate_devices;
use summary::Summary;
use traffic::TrafficModel;

/// The plan the demo runs when no `--plan` is given.
pub(super) const SAMPLE_PLAN_JSON: &str = include_str!("../sample_plan.json");

/// The most devices one run simulates; keeps a run within minutes.
const MAX_DEVICES: u64 = 10_000_000;

/// Devices simulated and summed as one unit of work. Fixed (not derived from the thread count)
/// so the order of float additions, and hence the output, never depends on the thread count.
pub(super) const BLOCK_DEVICES: u64 = 256;

/// Runs at least this long (in devices) show a progress bar on a terminal.
const PROGRESS_MIN_DEVICES: u64 = 100_000;

/// Rows of the "top droppers" table.
pub(super) const TOP_DROPPERS: usize = 10;

/// Arguments of `trackgate demo`.
#[derive(Args)]
pub struct DemoArgs {
    /// Simulated devices, 1 to 10,000,000 [default: 10,000; with --governance 2,000].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=MAX_DEVICES))]
    devices: Option<u64>,
    /// Seed of the simulated traffic and unit ids; the same seed replays the same run.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Run this plan file instead of the embedded sample plan.
    #[arg(long, value_name = "FILE")]
    plan: Option<PathBuf>,
    /// What-if: shed every event below this priority (P0 is never shed), overriding the plan.
    #[arg(
        long,
        conflicts_with = "governance",
        value_name = "PRIORITY",
        value_parser = PossibleValuesParser::new(["P0", "P1", "P2", "P3"])
            .try_map(|text| Priority::parse(&text).ok_or("expected P0, P1, P2 or P3")),
    )]
    shed_below: Option<Priority>,
    /// Print the summary as one JSON object instead of tables.
    #[arg(long, conflicts_with = "governance")]
    json: bool,
    /// Worker threads (default: the available cores); the output does not depend on it.
    #[arg(long, conflicts_with = "governance")]
    threads: Option<NonZeroUsize>,
    /// Run the governance loop instead: report, proposal, owner review, plan apply, and a
    /// release signed by two roles, rolled out 1% → 10% → 50% → 100% under the watch, in
    /// simulated time (docs/governance.md, "Try it").
    #[arg(long)]
    governance: bool,
}

impl DemoArgs {
    /// Simulated devices: `--devices`, else the mode's default.
    pub(super) fn devices(&self) -> u64 {
        self.devices.unwrap_or(if self.governance { GOVERNANCE_DEVICES } else { DEVICES })
    }
}

/// Devices simulated by default.
const DEVICES: u64 = 10_000;

/// Devices simulated by default with `--governance` (each one also a delivery client).
const GOVERNANCE_DEVICES: u64 = 2_000;

/// Runs `trackgate demo`.
pub fn run(args: &DemoArgs) -> Result<(), Failure> {
    let (plan, source) = load_plan(args)?;
    if args.governance {
        return governance::run(plan, &source, args.devices(), args.seed);
    }
    let model = TrafficModel::new(plan)?;
    let threads = args.threads.map_or_else(threads::available, NonZeroUsize::get);
    let progress = progress_bar(args);
    let tally = simulate_devices(&model, args.devices(), args.seed, threads, &progress);
    progress.finish_and_clear();
    let summary = Summary::new(&model, source, args, &tally);
    let output = if args.json {
        serde_json::to_string_pretty(&summary).map_err(|error| Failure::error(error.to_string()))? + "\n"
    } else {
        render::render_text(&summary).map_err(|_| Failure::error("cannot format the summary"))?
    };
    out!("{output}");
    Ok(())
}

/// The plan to run and where it came from, with the `--shed-below` override applied.
fn load_plan(args: &DemoArgs) -> Result<(Plan, String), Failure> {
    let (mut plan, source) = match &args.plan {
        Some(path) => {
            let (plan, warnings) = read_plan(path)?;
            for warning in &warnings {
                eprintln!("{}:{warning}", path.display());
            }
            (plan, path.display().to_string())
        }
        None => {
            let validated = parse_plan(SAMPLE_PLAN_JSON)
                .map_err(|error| Failure::error(format!("the embedded sample plan is invalid (a bug): {error}")))?;
            (validated.plan, "embedded sample plan".to_owned())
        }
    };
    if let Some(level) = args.shed_below {
        plan.shed_below = Some(level);
    }
    Ok((plan, source))
}

/// A bar on stderr for long interactive runs only: never in JSON mode or when piped.
fn progress_bar(args: &DemoArgs) -> ProgressBar {
    if args.json || args.devices() < PROGRESS_MIN_DEVICES || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(args.devices());
    if let Ok(style) = ProgressStyle::with_template("simulating {pos}/{len} devices [{bar:40}] {eta} left") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}
