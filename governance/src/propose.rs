//! Making a proposal from a report's candidates ([`propose`]).
//!
//! Each candidate becomes a change with a stable id, its exact edit (checked against the plan:
//! a report computed from another plan version is refused), per-day savings, a deadline and the
//! guardrails that hold it back. In unsupervised mode the changes of the policy's kinds that no
//! guardrail blocks are auto-applied, biggest cost saving first, until the release's kept-volume
//! budget is spent; the rest wait for their owners. Pure: `now` is the caller's.

use std::collections::BTreeMap;

use trackgate_core::Plan;

use crate::edit::EditProblem;
use crate::guardrails::{event_blocks, EventFacts, Registrations, VolumeBudget};
use crate::policy::{Mode, Policy};
use crate::proposal::Change;
use crate::proposal::{ChangeState, DailySaving, PlanRef, Proposal, ReportRef, PROPOSAL_FORMAT};
use crate::report::{GovernanceReport, Usage, REPORT_FORMAT};
use crate::time::Timestamp;

/// What a proposal is made from.
#[derive(Debug, Clone, Copy)]
pub struct ProposeInputs<'input> {
    /// The plan the report was computed with (the changes edit it).
    pub plan: &'input Plan,
    /// The plan's file, recorded as `plan apply`'s default.
    pub plan_file: Option<&'input str>,
    /// The report (`trackgate report --json`, with `--usage` so it has candidates).
    pub report: &'input GovernanceReport,
    /// Usage per event; without it the report's own usage figures are used.
    pub usage: Option<&'input Usage>,
    /// Registration dates (the registered-days guardrail); unknown dates block.
    pub registrations: Option<&'input Registrations>,
    /// The policy.
    pub policy: &'input Policy,
    /// The time the proposal is made.
    pub now: Timestamp,
}

/// Why no proposal could be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProposeError {
    /// The report is of another format.
    #[error("the report's format is `{0}`; expected `{REPORT_FORMAT}`")]
    ReportFormat(String),
    /// The report has no window to take days from.
    #[error("the report has no counted window")]
    NoWindows,
    /// A candidate names an event the plan does not hold.
    #[error("candidate {kind} of `{event}` (owner {owner}): the plan has no such event; was the report made with this plan?")]
    UnknownEvent {
        /// The candidate's kind.
        kind: String,
        /// Its event.
        event: String,
        /// Its owner.
        owner: String,
    },
    /// A candidate's edit does not fit the plan (the report used another plan version).
    #[error("candidate {kind} of `{event}`: {problem}; was the report made with this plan version?")]
    Stale {
        /// The candidate's kind.
        kind: String,
        /// Its event.
        event: String,
        /// What does not fit.
        problem: EditProblem,
    },
}

/// Makes the proposal.
pub fn propose(inputs: &ProposeInputs<'_>) -> Result<Proposal, ProposeError> {
    let report = inputs.report;
    if report.format != REPORT_FORMAT {
        return Err(ProposeError::ReportFormat(report.format.clone()));
    }
    let days = u32::try_from(report.windows.len()).unwrap_or(u32::MAX);
    if days == 0 {
        return Err(ProposeError::NoWindows);
    }
    let per_day = |value: f64| value / f64::from(days);
    let events: BTreeMap<&str, _> = report.events.iter().map(|event| (event.name.as_str(), event)).collect();
    let policy = inputs.policy;
    let deadline = inputs.now.plus_days(policy.confirm_days.unwrap_or(report.rules.confirm_days).max(1));
    let mut changes = Vec::new();
    for candidate in report.candidates_by_owner.values().flatten() {
        let kind = candidate.kind.as_str().to_owned();
        let Some(rule) = inputs.plan.events.get(&candidate.event) else {
            return Err(ProposeError::UnknownEvent {
                kind,
                event: candidate.event.clone(),
                owner: candidate.owner.clone(),
            });
        };
        let mut edited = rule.clone();
        candidate.edit.apply(&mut edited).map_err(|problem| ProposeError::Stale {
            kind: kind.clone(),
            event: candidate.event.clone(),
            problem,
        })?;
        let totals = events.get(candidate.event.as_str());
        let uses = match inputs.usage {
            Some(usage) => Some(usage.events.get(&candidate.event).copied().unwrap_or_default()),
            None => totals.and_then(|event| event.uses),
        };
        let facts = EventFacts {
            priority: rule.priority,
            uses,
            usage_days: inputs.usage.map_or(0, |usage| usage.days),
            registered: inputs.registrations.and_then(|registered| registered.events.get(&candidate.event).copied()),
        };
        let owner = rule.owner.clone().unwrap_or_else(|| candidate.owner.clone());
        changes.push(Change {
            id: format!("{}:{}", candidate.kind, candidate.event),
            event: candidate.event.clone(),
            kind: candidate.kind,
            edit: candidate.edit,
            why: candidate.why.clone(),
            what: candidate.what.clone(),
            how: candidate.edit.describe(&candidate.event),
            when: format!(
                "when {owner} accepts it before {deadline}: in the next plan version (`trackgate plan apply`), then its release; unanswered, it expires"
            ),
            owner,
            saving: DailySaving {
                events_per_day: per_day(candidate.saving.events as f64),
                bytes_per_day: per_day(candidate.saving.bytes as f64),
                cost_per_day: per_day(candidate.saving.money),
            },
            kept_per_day: per_day(totals.map_or(0, |event| event.kept) as f64),
            deadline,
            state: ChangeState::Pending,
            blocked_by: event_blocks(&policy.guardrails, &facts, inputs.now),
            answer: None,
        });
    }
    let kept_per_day = per_day(report.totals.kept as f64);
    if policy.mode == Mode::Unsupervised {
        auto_apply(&mut changes, policy, kept_per_day);
    }
    Ok(Proposal {
        format: PROPOSAL_FORMAT.to_owned(),
        created: inputs.now,
        mode: policy.mode,
        plan: PlanRef {
            app: inputs.plan.app.clone(),
            env: inputs.plan.env.clone(),
            version: inputs.plan.version,
            digest: crate::plan_digest(inputs.plan),
            file: inputs.plan_file.map(str::to_owned),
        },
        report: ReportRef { days, currency: report.currency.clone(), kept_per_day },
        policy: policy.clone(),
        changes,
    })
}

/// The uniform rule: every change of an allowed kind that no guardrail blocks is applied, the
/// biggest cost saving first (then events saved, then id), while the kept-volume budget lasts.
fn auto_apply(changes: &mut [Change], policy: &Policy, kept_per_day: f64) {
    let mut order: Vec<usize> = (0..changes.len())
        .filter(|&index| changes[index].blocked_by.is_empty() && policy.auto_apply.contains(&changes[index].kind))
        .collect();
    order.sort_by(|&left, &right| {
        let (left, right) = (&changes[left], &changes[right]);
        right
            .saving
            .cost_per_day
            .total_cmp(&left.saving.cost_per_day)
            .then(right.saving.events_per_day.total_cmp(&left.saving.events_per_day))
            .then_with(|| left.id.cmp(&right.id))
    });
    let mut budget = VolumeBudget::new(&policy.guardrails, kept_per_day);
    for index in order {
        let change = &mut changes[index];
        match budget.take(change.kept_per_day) {
            Ok(()) => {
                change.state = ChangeState::AutoApplied;
                change.when = "applied automatically by the unsupervised policy: in the next plan version (`trackgate plan apply`), then its release".to_owned();
            }
            Err(block) => change.blocked_by.push(block),
        }
    }
}
