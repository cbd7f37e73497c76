//! `trackgate diff`: what changes between two plans (JSON files or envelopes): events added,
//! removed, retired, re-prioritised, re-sampled, and plan-wide rules. Envelopes are decoded
//! without checking their signature (use `inspect --pubkey` for that).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap::Args;
use serde::Serialize;
use trackgate_core::plan::{EventRule, EventStatus};
use trackgate_core::{parse_plan_bytes, Plan};
use trackgate_delivery::envelope::{DEFAULT_MAX_ENVELOPE_BYTES, MAGIC};
use trackgate_delivery::{decode_plan, parse_envelope};

use crate::files;
use crate::output::Output;
use crate::Failure;

/// Arguments of `trackgate diff`.
#[derive(Args)]
pub struct DiffArgs {
    /// The older plan (JSON, at most 128 MiB, or an envelope, at most 8 MiB). Example:
    /// `trackgate diff plan-7.tgplan plan.json`.
    old: PathBuf,
    /// The newer plan (JSON or envelope).
    new: PathBuf,
    /// Print the changes as JSON.
    #[arg(long)]
    json: bool,
}

/// Changes between two plans.
#[derive(Debug, Default, Serialize)]
pub struct PlanDiff {
    old_version: u64,
    new_version: u64,
    added: Vec<String>,
    removed: Vec<String>,
    retired: Vec<String>,
    reactivated: Vec<String>,
    reprioritised: Vec<Change>,
    resampled: Vec<Change>,
    /// Other rule changes (rate limit, size cap, salt, owner, description).
    other_rule_changes: Vec<String>,
    /// Plan-wide settings that changed.
    plan_changes: Vec<Change>,
}

/// One value that changed.
#[derive(Debug, Serialize)]
pub struct Change {
    name: String,
    old: String,
    new: String,
}

/// Reads a plan from JSON or from an envelope (recognised by its magic).
pub fn load(path: &Path) -> Result<Plan, Failure> {
    let refused = |reason: String| Failure::refused(format!("{}: {reason}", path.display()));
    if files::starts_with(path, &MAGIC)? {
        let bytes = files::read_capped(path, files::ENVELOPE_CAP, "envelope")?;
        let envelope =
            parse_envelope(&bytes, DEFAULT_MAX_ENVELOPE_BYTES).map_err(|error| refused(error.to_string()))?;
        return decode_plan(envelope.payload, envelope.header_length).map_err(|error| refused(error.to_string()));
    }
    let bytes = files::read_capped(path, files::PLAN_CAP, "plan")?;
    parse_plan_bytes(&bytes).map(|validated| validated.plan).map_err(|error| refused(error.to_string()))
}

/// Compares two plans.
pub fn diff_plans(old: &Plan, new: &Plan) -> PlanDiff {
    let mut diff = PlanDiff { old_version: old.version, new_version: new.version, ..PlanDiff::default() };
    for (name, rule) in &new.events {
        match old.events.get(name) {
            None => diff.added.push(name.clone()),
            Some(previous) => compare_rule(&mut diff, name, previous, rule),
        }
    }
    diff.removed = old.events.keys().filter(|name| !new.events.contains_key(*name)).cloned().collect();
    let settings = |plan: &Plan| {
        BTreeMap::from([
            ("enabled", plan.enabled.to_string()),
            ("unregistered", format!("{:?}", plan.unregistered).to_lowercase()),
            ("shed_below", plan.shed_below.map_or("none".into(), |priority| priority.to_string())),
            ("shadow", plan.shadow.to_string()),
            ("sampling_salt", plan.sampling_salt.clone()),
            ("defaults.max_bytes", format!("{:?}", plan.defaults.max_bytes)),
        ])
    };
    let (before, after) = (settings(old), settings(new));
    for (name, value) in &after {
        if before[name] != *value {
            diff.plan_changes.push(Change { name: (*name).into(), old: before[name].clone(), new: value.clone() });
        }
    }
    diff
}

fn compare_rule(diff: &mut PlanDiff, name: &str, old: &EventRule, new: &EventRule) {
    match (old.status, new.status) {
        (EventStatus::Active, EventStatus::Retired) => diff.retired.push(name.into()),
        (EventStatus::Retired, EventStatus::Active) => diff.reactivated.push(name.into()),
        _ => {}
    }
    if old.priority != new.priority {
        diff.reprioritised.push(Change {
            name: name.into(),
            old: old.priority.to_string(),
            new: new.priority.to_string(),
        });
    }
    if old.sample != new.sample {
        diff.resampled.push(Change { name: name.into(), old: old.sample.to_string(), new: new.sample.to_string() });
    }
    let rest = |rule: &EventRule| {
        (rule.rate_limit, rule.max_bytes, rule.salt.clone(), rule.owner.clone(), rule.description.clone())
    };
    if rest(old) != rest(new) {
        diff.other_rule_changes.push(name.into());
    }
}

/// Runs `trackgate diff`.
pub fn run(args: &DiffArgs) -> Result<(), Failure> {
    let diff = diff_plans(&load(&args.old)?, &load(&args.new)?);
    if args.json {
        let text = serde_json::to_string_pretty(&diff).map_err(|error| Failure::error(error.to_string()))?;
        outln!("{text}");
        return Ok(());
    }
    let mut output = Output::new();
    output.line(format_args!("version {} -> {}", diff.old_version, diff.new_version))?;
    let list = |output: &mut Output, label: &str, names: &[String]| -> Result<(), Failure> {
        names.iter().try_for_each(|name| output.line(format_args!("{label} {name}")))
    };
    list(&mut output, "+ added      ", &diff.added)?;
    list(&mut output, "- removed    ", &diff.removed)?;
    list(&mut output, "x retired    ", &diff.retired)?;
    list(&mut output, "o reactivated", &diff.reactivated)?;
    let changes = |output: &mut Output, label: &str, changes: &[Change]| -> Result<(), Failure> {
        changes.iter().try_for_each(|change| {
            output.line(format_args!("{label} {}: {} -> {}", change.name, change.old, change.new))
        })
    };
    changes(&mut output, "~ priority   ", &diff.reprioritised)?;
    changes(&mut output, "~ sample     ", &diff.resampled)?;
    list(&mut output, "~ rules      ", &diff.other_rule_changes)?;
    changes(&mut output, "~ plan       ", &diff.plan_changes)?;
    output.finish()
}
