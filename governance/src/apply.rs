//! `plan apply`: the next plan version with exactly the accepted and auto-applied changes.
//!
//! Refuses a plan other than the one the proposal was made against (by digest), a change whose
//! edit does not fit the plan, and a result the core's validator refuses; the result is the
//! plan's JSON text, validated by the very `parse_plan` that `trackgate validate` runs. Nothing
//! is partly applied: the caller writes the text only on success. Pure.

use trackgate_core::{parse_plan, Diagnostic, Plan};

use crate::edit::EditProblem;
use crate::proposal::Proposal;
use crate::time::Timestamp;

/// The next plan version.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    /// The plan.
    pub plan: Plan,
    /// Its JSON text (pretty, final newline), as validated.
    pub text: String,
    /// Ids of the changes applied, in proposal order.
    pub applied: Vec<String>,
    /// Validator warnings (the plan is accepted with them).
    pub warnings: Vec<Diagnostic>,
}

/// Why no next plan was made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApplyError {
    /// The plan is not the one the proposal was made against.
    #[error("the plan ({found_plan}, {found}) is not the one the proposal was made against ({expected_plan}, {expected}); make a new proposal from this plan")]
    DigestMismatch {
        /// The proposal's digest.
        expected: String,
        /// The given plan's digest.
        found: String,
        /// The proposal's plan: `app/env version N`.
        expected_plan: String,
        /// The given plan: `app/env version N`.
        found_plan: String,
    },
    /// No change is accepted or auto-applied.
    #[error("no change is accepted or auto-applied ({pending} pending, {expired} expired, {rejected} rejected); nothing to apply")]
    NothingToApply {
        /// Changes still pending.
        pending: usize,
        /// Changes expired.
        expired: usize,
        /// Changes rejected.
        rejected: usize,
    },
    /// A change names an event the plan does not hold.
    #[error("$.changes[{index}] (`{id}`): the plan has no event `{event}`")]
    UnknownEvent {
        /// Index in `changes`.
        index: usize,
        /// The change's id.
        id: String,
        /// The event.
        event: String,
    },
    /// A change's edit does not fit the plan.
    #[error("$.changes[{index}].edit (`{id}`): {problem}")]
    Edit {
        /// Index in `changes`.
        index: usize,
        /// The change's id.
        id: String,
        /// What does not fit.
        problem: EditProblem,
    },
    /// The plan version cannot be bumped.
    #[error("the plan version {0} cannot be bumped")]
    VersionOverflow(u64),
    /// The next plan is refused by the validator.
    #[error("the next plan would be invalid: {0}")]
    Invalid(trackgate_core::PlanError),
}

/// Applies the accepted and auto-applied changes to `plan` (after expiring what is due at
/// `now`), as version `plan.version + 1`.
pub fn apply(proposal: &Proposal, plan: &Plan, now: Timestamp) -> Result<Applied, ApplyError> {
    let found = crate::plan_digest(plan);
    if found != proposal.plan.digest {
        return Err(ApplyError::DigestMismatch {
            expected: proposal.plan.digest.clone(),
            found,
            expected_plan: format!("{}/{} version {}", proposal.plan.app, proposal.plan.env, proposal.plan.version),
            found_plan: format!("{}/{} version {}", plan.app, plan.env, plan.version),
        });
    }
    let mut proposal = proposal.clone();
    proposal.expire(now);
    let mut next = plan.clone();
    next.version = plan.version.checked_add(1).ok_or(ApplyError::VersionOverflow(plan.version))?;
    let mut applied = Vec::new();
    for (index, change) in proposal.changes.iter().enumerate().filter(|(_, change)| change.state.applies()) {
        let rule = next.events.get_mut(&change.event).ok_or_else(|| ApplyError::UnknownEvent {
            index,
            id: change.id.clone(),
            event: change.event.clone(),
        })?;
        change.edit.apply(rule).map_err(|problem| ApplyError::Edit { index, id: change.id.clone(), problem })?;
        applied.push(change.id.clone());
    }
    if applied.is_empty() {
        let count = |state| proposal.changes.iter().filter(|change| change.state == state).count();
        use crate::proposal::ChangeState::{Expired, Pending, Rejected};
        return Err(ApplyError::NothingToApply {
            pending: count(Pending),
            expired: count(Expired),
            rejected: count(Rejected),
        });
    }
    // Plain data with string keys: serializing cannot fail.
    let text = serde_json::to_string_pretty(&next).unwrap_or_default() + "\n";
    let validated = parse_plan(&text).map_err(ApplyError::Invalid)?;
    Ok(Applied { plan: validated.plan, text, applied, warnings: validated.warnings })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Mode;
    use crate::proposal::{Answer, ChangeState};

    const PLAN: &str = r#"{"schema": 1, "app": "shop", "env": "prod", "version": 7,
        "events": {"a.one": {"priority": "P2"}, "a.two": {"priority": "P1"}}}"#;

    fn proposal(plan: &Plan) -> Proposal {
        let text = format!(
            r#"{{"format": "trackgate-proposal/1", "created": "2026-11-01T00:00:00Z", "mode": "supervised",
            "plan": {{"app": "shop", "env": "prod", "version": 7, "digest": "{}"}},
            "report": {{"days": 1, "currency": "EUR", "kept_per_day": 10}},
            "policy": {{}},
            "changes": [{{"id": "downgrade:a.two", "event": "a.two", "owner": "t", "kind": "downgrade",
              "edit": {{"set": "priority", "from": "P1", "to": "P2"}}, "why": "", "what": "", "how": "", "when": "",
              "saving": {{"events_per_day": 0, "bytes_per_day": 0, "cost_per_day": 0}}, "kept_per_day": 1,
              "deadline": "2026-11-10T00:00:00Z", "state": "pending"}}]}}"#,
            crate::plan_digest(plan)
        );
        Proposal::parse(&text).unwrap()
    }

    #[test]
    fn accepted_changes_make_the_next_version() {
        let plan = parse_plan(PLAN).unwrap().plan;
        let mut proposal = proposal(&plan);
        assert_eq!(proposal.mode, Mode::Supervised);
        let now = Timestamp::parse("2026-11-02").unwrap();
        assert!(matches!(apply(&proposal, &plan, now), Err(ApplyError::NothingToApply { pending: 1, .. })));
        proposal.changes[0].state = ChangeState::Accepted;
        proposal.changes[0].answer = Some(Answer { by: "ana".into(), at: now, comment: None });
        let applied = apply(&proposal, &plan, now).unwrap();
        assert_eq!(applied.plan.version, 8);
        assert_eq!(applied.plan.events["a.two"].priority, trackgate_core::Priority::P2);
        assert_eq!(applied.plan.events["a.one"], plan.events["a.one"]);
        assert_eq!(applied.applied, ["downgrade:a.two"]);
        assert_eq!(parse_plan(&applied.text).unwrap().plan, applied.plan);
        let mut other = plan.clone();
        other.version = 6;
        assert!(matches!(apply(&proposal, &other, now), Err(ApplyError::DigestMismatch { .. })));
    }
}
