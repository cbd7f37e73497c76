//! `trackgate propose`: a report's candidates into a proposal file.

use std::path::PathBuf;

use clap::Args;
use trackgate_governance::report::Usage;
use trackgate_governance::{parse_policy, parse_report, propose, ChangeState, Policy, ProposeInputs, Registrations};

use super::{now, read_document, worklist};
use crate::files::write_atomic;
use crate::validate::read_plan;
use crate::Failure;

/// Arguments of `trackgate propose`.
#[derive(Args)]
pub struct ProposeArgs {
    /// The plan the report was computed with; the changes edit it.
    #[arg(long, value_name = "FILE")]
    plan: PathBuf,
    /// The report: `trackgate report --json` output (made with `--plan` and `--usage`).
    #[arg(long, value_name = "FILE")]
    report: PathBuf,
    /// usage.json: reads per event for the guardrails (default: the report's own figures).
    #[arg(long, value_name = "FILE")]
    usage: Option<PathBuf>,
    /// The policy: mode (supervised, unsupervised), confirm days, auto-applied kinds, guardrails.
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
    /// Registration dates per event (`trackgate-registered/1`); unknown dates hold changes back.
    #[arg(long, value_name = "FILE")]
    registered: Option<PathBuf>,
    /// The time of the proposal (RFC 3339; default: now). Deadlines count from it.
    #[arg(long, value_name = "TIME")]
    now: Option<String>,
    /// Where to write the proposal (replaced crash-safely).
    #[arg(short, long, value_name = "FILE")]
    output: PathBuf,
    /// Also print every owner's worklist.
    #[arg(long)]
    worklist: bool,
}

/// Runs `trackgate propose`.
pub fn run(args: &ProposeArgs) -> Result<(), Failure> {
    let now = now(args.now.as_deref())?;
    let (plan, _warnings) = read_plan(&args.plan)?;
    let report = read_document(&args.report, "report", parse_report)?;
    let usage: Option<Usage> = args
        .usage
        .as_deref()
        .map(|path| read_document(path, "usage file", trackgate_governance::json::parse))
        .transpose()?;
    let policy: Policy = match &args.policy {
        Some(path) => read_document(path, "policy", parse_policy)?,
        None => Policy::default(),
    };
    let registrations = args
        .registered
        .as_deref()
        .map(|path| read_document(path, "registrations file", Registrations::parse))
        .transpose()?;
    let plan_file = std::fs::canonicalize(&args.plan).unwrap_or_else(|_| args.plan.clone());
    let plan_file = plan_file.to_str().map(str::to_owned);
    let proposal = propose(&ProposeInputs {
        plan: &plan,
        plan_file: plan_file.as_deref(),
        report: &report,
        usage: usage.as_ref(),
        registrations: registrations.as_ref(),
        policy: &policy,
        now,
    })
    .map_err(|error| Failure::refused(format!("{}: {error}", args.report.display())))?;
    write_atomic(&args.output, proposal.to_json().as_bytes())?;
    let count = |state| proposal.changes.iter().filter(|change| change.state == state).count();
    outln!(
        "wrote {}: {} change(s) to {}/{} version {} ({} auto-applied, {} pending)",
        args.output.display(),
        proposal.changes.len(),
        proposal.plan.app,
        proposal.plan.env,
        proposal.plan.version,
        count(ChangeState::AutoApplied),
        count(ChangeState::Pending)
    );
    if args.worklist {
        out!("\n{}", worklist::text(&trackgate_governance::worklists(&proposal, now, None)));
    }
    Ok(())
}
