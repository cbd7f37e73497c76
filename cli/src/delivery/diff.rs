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

use super::read_file;
use crate::Failure;

/// Arguments of `trackgate diff`.
#[derive(Args)]
pub struct DiffArgs {
    /// The older plan (JSON or envelope).
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
fn load(path: &Path) -> Result<Plan, Failure> {
    let bytes = read_file(path)?;
    let refused = |reason: String| Failure::refused(format!("{}: {reason}", path.display()));
    if bytes.starts_with(&MAGIC) {
        let envelope =
            parse_envelope(&bytes, DEFAULT_MAX_ENVELOPE_BYTES).map_err(|error| refused(error.to_string()))?;
        return decode_plan(envelope.payload, envelope.header_length).map_err(|error| refused(error.to_string()));
    }
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
        println!("{text}");
        return Ok(());
    }
    println!("version {} -> {}", diff.old_version, diff.new_version);
    let list = |label: &str, names: &[String]| {
        for name in names {
            println!("{label} {name}");
        }
    };
    list("+ added      ", &diff.added);
    list("- removed    ", &diff.removed);
    list("x retired    ", &diff.retired);
    list("o reactivated", &diff.reactivated);
    let changes = |label: &str, changes: &[Change]| {
        for change in changes {
            println!("{label} {}: {} -> {}", change.name, change.old, change.new);
        }
    };
    changes("~ priority   ", &diff.reprioritised);
    changes("~ sample     ", &diff.resampled);
    list("~ rules      ", &diff.other_rule_changes);
    changes("~ plan       ", &diff.plan_changes);
    Ok(())
}
