//! `trackgate explain`: why a plan keeps or drops one event, with every value the rules read
//! (plan version, the refusing rule, cap and size, sampling rate and the unit's sampling value,
//! rate limit and tokens), as the gate's `explain` shows it on a device.
//!
//! The explanation is the core's (`CompiledPlan::explain_for_unit`, the decision's own rule
//! chain) and so is its text; this module reads the plan, maps the options and prints. A
//! plan no device has used has full token buckets, so a rate-limited event shows its burst.

use std::path::PathBuf;

use clap::Args;
use serde_json::json;
use trackgate_core::{CompiledPlan, Decision, Explanation};

use crate::delivery::diff;
use crate::Failure;

/// Arguments of `trackgate explain`.
#[derive(Args)]
pub struct ExplainArgs {
    /// The plan: JSON, or a signed envelope (read, not verified; `trackgate inspect` verifies).
    #[arg(long)]
    plan: PathBuf,
    /// The event name, as the app sends it.
    name: String,
    /// The sampling unit (install id or user id) to decide for; without it, a sampled event is
    /// decided as for a unit inside its sample and the text says so.
    #[arg(long)]
    unit: Option<String>,
    /// The event's encoded size in bytes.
    #[arg(long, default_value_t = 0)]
    size: u64,
    /// Print the explanation as JSON.
    #[arg(long)]
    json: bool,
}

/// Runs `trackgate explain`: exit 0 whatever the decision, 1 for a refused plan, 2 for
/// unreadable files and bad options.
pub fn run(args: &ExplainArgs) -> Result<(), Failure> {
    if let Some(unit) = &args.unit {
        if unit.is_empty() || unit.len() > trackgate_core::MAX_UNIT_ID_BYTES {
            return Err(Failure::error(format!(
                "--unit: {} bytes; a unit id has 1 to {} bytes",
                unit.len(),
                trackgate_core::MAX_UNIT_ID_BYTES
            )));
        }
    }
    let plan = diff::load(&args.plan)?;
    let compiled =
        CompiledPlan::compile(&plan).map_err(|error| Failure::refused(format!("{}: {error}", args.plan.display())))?;
    let explanation = compiled.explain_for_unit(&args.name, args.size, args.unit.as_deref(), 0);
    if args.json {
        let text = serde_json::to_string_pretty(&to_json(&explanation, args.unit.as_deref()))
            .map_err(|error| Failure::error(error.to_string()))?;
        outln!("{text}");
    } else {
        outln!("{explanation}");
    }
    Ok(())
}

/// The explanation's fields as JSON (`null` where a field does not apply).
fn to_json(explanation: &Explanation, unit: Option<&str>) -> serde_json::Value {
    let (decision, weight, reason) = match explanation.decision {
        Decision::Keep { weight } => ("keep", Some(weight), None),
        Decision::Drop { reason } => ("drop", None, Some(reason)),
    };
    json!({
        "name": explanation.name,
        "size_bytes": explanation.size_bytes,
        "unit": unit,
        "decision": decision,
        "weight": weight,
        "reason": reason,
        "refused_by": explanation.refused_by,
        "plan_version": explanation.plan_version,
        "plan_enabled": explanation.plan_enabled,
        "shadow": explanation.shadow,
        "registered": explanation.registered,
        "name_problem": explanation.name_problem,
        "priority": explanation.priority,
        "max_bytes": explanation.max_bytes,
        "sample_rate_ppm": explanation.sample_rate_ppm,
        "sampling_salt": explanation.sampling_salt,
        "unit_value": explanation.unit_value,
        "keep_from": explanation.keep_from,
        "rate_limit_per_second": explanation.rate_limit_per_second,
        "rate_limit_burst": explanation.rate_limit_burst,
        "tokens_left": explanation.tokens_left,
    })
}
