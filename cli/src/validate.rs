//! `trackgate validate` and `trackgate schema`: plan checking for authors and CI.

use std::path::PathBuf;

use clap::Args;
use trackgate_core::{parse_plan_bytes, Diagnostic, Plan};

use crate::files::{read_capped, PLAN_CAP};
use crate::output::Output;
use crate::Failure;

/// Arguments of `trackgate validate`.
#[derive(Args)]
pub struct ValidateArgs {
    /// The plan JSON file (at most 128 MiB, refused unread above; docs/plan.md, size limits).
    /// Example: `trackgate validate plan.json`.
    plan: PathBuf,
    /// Print the problems as JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// Reads a plan file, refusing unreadable files (exit 2), files over the plan size cap and
/// invalid plans (exit 1).
pub fn read_plan(path: &std::path::Path) -> Result<(Plan, Vec<Diagnostic>), Failure> {
    let bytes = read_capped(path, PLAN_CAP, "plan")?;
    match parse_plan_bytes(&bytes) {
        Ok(validated) => Ok((validated.plan, validated.warnings)),
        Err(error) => {
            let mut message = format!("{}: invalid plan", path.display());
            for diagnostic in &error.diagnostics {
                message.push_str(&format!("\n  {}:{diagnostic}", path.display()));
            }
            Err(Failure::refused(message))
        }
    }
}

/// Runs `trackgate validate`.
pub fn run(args: &ValidateArgs) -> Result<(), Failure> {
    let bytes = read_capped(&args.plan, PLAN_CAP, "plan")?;
    let (valid, diagnostics, plan) = match parse_plan_bytes(&bytes) {
        Ok(validated) => (true, validated.warnings, Some(validated.plan)),
        Err(error) => (false, error.diagnostics, None),
    };
    if args.json {
        let output = serde_json::json!({
            "file": args.plan.display().to_string(),
            "valid": valid,
            "events": plan.as_ref().map(|plan| plan.events.len()),
            "version": plan.as_ref().map(|plan| plan.version),
            "diagnostics": diagnostics,
        });
        outln!("{}", serde_json::to_string_pretty(&output).map_err(|error| Failure::error(error.to_string()))?);
    } else {
        let mut output = Output::new();
        for diagnostic in &diagnostics {
            output.line(format_args!("{}:{diagnostic}", args.plan.display()))?;
        }
        match &plan {
            Some(plan) => output.line(format_args!(
                "{}: valid plan for {}/{} version {} with {} events ({} warning(s))",
                args.plan.display(),
                plan.app,
                plan.env,
                plan.version,
                plan.events.len(),
                diagnostics.len()
            ))?,
            None => {
                let errors = diagnostics.iter().filter(|diagnostic| diagnostic.is_error()).count();
                output.line(format_args!("{}: invalid plan, {errors} error(s)", args.plan.display()))?;
            }
        }
        output.finish()?;
    }
    if valid {
        Ok(())
    } else {
        Err(Failure { code: 1, message: String::new() })
    }
}

/// Runs `trackgate schema`.
pub fn print_schema() -> Result<(), Failure> {
    outln!("{}", plan_schema_json());
    Ok(())
}

/// The plan's JSON Schema, generated from the same types the engine reads.
pub fn plan_schema_json() -> String {
    let schema = schemars::schema_for!(Plan);
    serde_json::to_string_pretty(&schema).unwrap_or_default()
}
