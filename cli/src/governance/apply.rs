//! `trackgate plan apply`: the next plan version from a reviewed proposal.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use trackgate_governance::apply;

use super::{now, read_proposal};
use crate::files::write_atomic;
use crate::validate::read_plan;
use crate::Failure;

/// `trackgate plan …` commands.
#[derive(Subcommand)]
pub enum PlanCommand {
    /// Write the next plan version with exactly a proposal's accepted and auto-applied changes.
    Apply(ApplyArgs),
}

/// Arguments of `trackgate plan apply`.
#[derive(Args)]
pub struct ApplyArgs {
    /// The reviewed proposal.
    #[arg(value_name = "PROPOSAL")]
    proposal: PathBuf,
    /// The plan to edit (default: the plan file the proposal was made from). It must be the
    /// very plan the proposal was made against (same digest).
    #[arg(long, value_name = "FILE")]
    plan: Option<PathBuf>,
    /// Where to write the next plan (nothing is written when anything is refused).
    #[arg(short, long, value_name = "FILE")]
    output: PathBuf,
    /// The time of the apply, for expiring due changes (RFC 3339; default: now).
    #[arg(long, value_name = "TIME")]
    now: Option<String>,
}

/// Runs a `trackgate plan` command.
pub fn run(command: &PlanCommand) -> Result<(), Failure> {
    match command {
        PlanCommand::Apply(args) => run_apply(args),
    }
}

fn run_apply(args: &ApplyArgs) -> Result<(), Failure> {
    let now = now(args.now.as_deref())?;
    let proposal = read_proposal(&args.proposal)?;
    let plan_path = match (&args.plan, &proposal.plan.file) {
        (Some(path), _) => path.clone(),
        (None, Some(file)) => PathBuf::from(file),
        (None, None) => return Err(Failure::error("the proposal names no plan file; give --plan")),
    };
    let (plan, _warnings) = read_plan(&plan_path)?;
    let applied = apply(&proposal, &plan, now).map_err(|error| {
        Failure::refused(format!("{} with {}: {error}; nothing written", args.proposal.display(), plan_path.display()))
    })?;
    for warning in &applied.warnings {
        eprintln!("trackgate: {}: {warning}", args.output.display());
    }
    write_atomic(&args.output, applied.text.as_bytes())?;
    outln!(
        "wrote {}: {}/{} version {} (from {}) with {} change(s): {}",
        args.output.display(),
        applied.plan.app,
        applied.plan.env,
        applied.plan.version,
        plan.version,
        applied.applied.len(),
        applied.applied.join(", ")
    );
    Ok(())
}
