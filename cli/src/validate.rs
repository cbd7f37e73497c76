//! `trackgate validate` and `trackgate schema`: plan checking for authors and CI.

use std::path::PathBuf;

use clap::Args;
use trackgate_core::{parse_plan_bytes, Diagnostic, Plan};

use crate::Failure;

/// Arguments of `trackgate validate`.
#[derive(Args)]
pub struct ValidateArgs {
    /// The plan JSON file.
    plan: PathBuf,
    /// Print the problems as JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// Reads a plan file, refusing unreadable files (exit 2) and invalid plans (exit 1).
pub fn read_plan(path: &std::path::Path) -> Result<(Plan, Vec<Diagnostic>), Failure> {
    let bytes =
        std::fs::read(path).map_err(|error| Failure::error(format!("cannot read {}: {error}", path.display())))?;
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
    let bytes = std::fs::read(&args.plan)
        .map_err(|error| Failure::error(format!("cannot read {}: {error}", args.plan.display())))?;
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
        println!("{}", serde_json::to_string_pretty(&output).map_err(|error| Failure::error(error.to_string()))?);
    } else {
        for diagnostic in &diagnostics {
            println!("{}:{diagnostic}", args.plan.display());
        }
        match &plan {
            Some(plan) => println!(
                "{}: valid plan for {}/{} version {} with {} events ({} warning(s))",
                args.plan.display(),
                plan.app,
                plan.env,
                plan.version,
                plan.events.len(),
                diagnostics.len()
            ),
            None => {
                let errors = diagnostics.iter().filter(|diagnostic| diagnostic.is_error()).count();
                println!("{}: invalid plan, {errors} error(s)", args.plan.display());
            }
        }
    }
    if valid {
        Ok(())
    } else {
        Err(Failure { code: 1, message: String::new() })
    }
}

/// Runs `trackgate schema`.
pub fn print_schema() -> Result<(), Failure> {
    println!("{}", plan_schema_json());
    Ok(())
}

/// The plan's JSON Schema, generated from the same types the engine reads.
pub fn plan_schema_json() -> String {
    let schema = schemars::schema_for!(Plan);
    serde_json::to_string_pretty(&schema).unwrap_or_default()
}
