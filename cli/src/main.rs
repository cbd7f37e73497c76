//! `trackgate`: the command-line tools around the gate.
//!
//! Each subcommand lives in its own module; this file only parses arguments and maps results to
//! exit codes (0 success, 1 the input was refused, 2 usage or I/O error, 141 stdout's reader
//! closed the pipe).

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[macro_use]
mod output;

mod delivery;
mod demo;
mod etl;
mod explain;
mod files;
mod format;
mod governance;
mod release;
mod report;
mod threads;
mod usage;
mod validate;

/// Decide, before upload, which analytics events may leave the device.
#[derive(Parser)]
#[command(name = "trackgate", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a plan on simulated devices and summarise what it keeps, drops and saves.
    Demo(demo::DemoArgs),
    /// Check a plan file and print every problem with its place; exit 1 when invalid.
    Validate(validate::ValidateArgs),
    /// Print the JSON Schema of the plan format (for editors).
    Schema,
    /// Why a plan keeps or drops one event: the rule, cap and size, sampling rate and the
    /// unit's value, rate limit. Example: `trackgate explain --plan plan.json photo.uploaded
    /// --unit install-1 --size 2048`.
    Explain(explain::ExplainArgs),
    /// Apply a plan to NDJSON events on the server: keep, tag with priority and weight, count.
    ///
    /// Kept events go to stdout (or OUTPUT); a summary line (lines, kept, dropped, malformed)
    /// goes to stderr at the end. Example: `trackgate filter --plan plan.json events.ndjson.gz
    /// kept.ndjson`.
    Filter(etl::filter::FilterArgs),
    /// Write the plan as code for other engines: `export spark` gives Spark SQL or PySpark.
    Export(etl::export_spark::ExportArgs),
    /// Governance cost report from filter stats and SDK drop reports: text, JSON or HTML.
    Report(report::ReportArgs),
    /// Which events anyone reads, from SQL lineage, routing rules and analytics logs: usage.json.
    Usage(usage::UsageArgs),
    /// Turn a report's candidates into a proposal: ids, owners, exact edits, savings, deadlines.
    ///
    /// Example: `trackgate propose --plan plan.json --report report.json --usage usage.json
    /// --policy policy.json -o proposal.json`.
    Propose(governance::propose::ProposeArgs),
    /// Owners accept or reject a proposal's changes (`--accept ID… --by NAME`), or list them.
    Review(governance::review::ReviewArgs),
    /// Plan versions: `plan apply` writes the next version from a reviewed proposal.
    #[command(subcommand)]
    Plan(governance::apply::PlanCommand),
    /// Create a publisher key pair (signing.key, mode 0600; public.key; public.hex for apps).
    Keygen(delivery::keygen::KeygenArgs),
    /// Validate, encode and sign a plan into an envelope devices accept.
    #[command(disable_version_flag = true)]
    Build(delivery::build::BuildArgs),
    /// Add one signature to a format-2 envelope (co-signing) without changing what was signed.
    Sign(delivery::sign::SignArgs),
    /// Show an envelope's header and plan summary; verify it with --pubkey (exit 1 if invalid).
    Inspect(delivery::inspect::InspectArgs),
    /// Show what changes between two plans (JSON or envelopes).
    Diff(delivery::diff::DiffArgs),
    /// Serve the newest signed plan per app and env from a directory over HTTP.
    #[command(after_long_help = delivery::serve::EXAMPLE)]
    Serve(delivery::serve::ServeArgs),
    /// Fetch, verify and store a plan as a device would (exit 1 if refused).
    Fetch(delivery::fetch::FetchArgs),
    /// Release a plan version in recorded stages: check, diff, reviews as signatures, schedule,
    /// staged rollout, watch, confirm or roll back (docs/governance.md, "Releases").
    Release(release::ReleaseArgs),
}

/// A command's failure: the message to print and the exit code (141, with no message, when
/// stdout's reader closed the pipe: see `output`).
pub struct Failure {
    /// Exit code: 1 for refused input, 2 for usage or I/O errors.
    pub code: u8,
    /// What went wrong.
    pub message: String,
}

impl Failure {
    /// Input that was read fine but refused (invalid plan, bad signature, ...).
    pub fn refused(message: impl Into<String>) -> Self {
        Failure { code: 1, message: message.into() }
    }

    /// Usage or I/O problems.
    pub fn error(message: impl Into<String>) -> Self {
        Failure { code: 2, message: message.into() }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo(args) => demo::run(&args),
        Command::Validate(args) => validate::run(&args),
        Command::Schema => validate::print_schema(),
        Command::Explain(args) => explain::run(&args),
        Command::Filter(args) => etl::filter::run(&args),
        Command::Export(args) => etl::export_spark::run(&args),
        Command::Report(args) => report::run(&args),
        Command::Usage(args) => usage::run(&args),
        Command::Propose(args) => governance::propose::run(&args),
        Command::Review(args) => governance::review::run(&args),
        Command::Plan(command) => governance::apply::run(&command),
        Command::Keygen(args) => delivery::keygen::run(&args),
        Command::Build(args) => delivery::build::run(&args),
        Command::Sign(args) => delivery::sign::run(&args),
        Command::Inspect(args) => delivery::inspect::run(&args),
        Command::Diff(args) => delivery::diff::run(&args),
        Command::Serve(args) => delivery::serve::run(&args),
        Command::Fetch(args) => delivery::fetch::run(&args),
        Command::Release(args) => release::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            if !failure.message.is_empty() {
                eprintln!("trackgate: {}", failure.message);
            }
            ExitCode::from(failure.code)
        }
    }
}
