//! Per-owner worklists: what each owner has to confirm, by when, and what it saves.
//!
//! Computed from a proposal at `now` (due changes count as expired, without changing the
//! proposal). Owners are listed by name; within an owner, the earliest deadline first, then
//! the biggest cost saving. The same data feeds the terminal table, the JSON
//! (`trackgate-worklist/1`) and the HTML report's section. Pure.

use serde::{Deserialize, Serialize};

use crate::guardrails::Block;
use crate::proposal::{ChangeState, DailySaving, Proposal};
use crate::report::CandidateKind;
use crate::time::Timestamp;

/// The `format` of the JSON worklists.
pub const WORKLIST_FORMAT: &str = "trackgate-worklist/1";

/// Every owner's worklist.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Worklists {
    /// [`WORKLIST_FORMAT`].
    pub format: String,
    /// The time the lists were made for.
    pub now: Timestamp,
    /// Currency of every cost.
    pub currency: String,
    /// The plan the proposal edits (`app/env` version).
    pub plan: String,
    /// One list per owner, by owner name.
    pub owners: Vec<Worklist>,
}

/// One owner's worklist.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Worklist {
    /// The owner.
    pub owner: String,
    /// Pending changes to accept or reject, earliest deadline first.
    pub to_confirm: Vec<WorkItem>,
    /// What confirming every pending change saves per day.
    pub pending_saving: DailySaving,
    /// The earliest deadline of the pending changes.
    pub next_deadline: Option<Timestamp>,
    /// Changes the unsupervised policy applied (nothing to do; listed so owners know).
    pub auto_applied: Vec<WorkItem>,
    /// Changes already accepted.
    pub accepted: usize,
    /// Changes already rejected.
    pub rejected: usize,
    /// Changes whose deadline passed unanswered.
    pub expired: usize,
}

/// One change in a worklist.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkItem {
    /// The change's id (what `review --accept` takes).
    pub id: String,
    /// The event.
    pub event: String,
    /// Retire, sample or downgrade.
    pub kind: CandidateKind,
    /// The edit in words.
    pub how: String,
    /// Why.
    pub why: String,
    /// Answer before this.
    pub deadline: Timestamp,
    /// Saving per day.
    pub saving: DailySaving,
    /// Guardrails that kept it from being applied automatically.
    pub blocked_by: Vec<Block>,
}

/// The worklists of `proposal` at `now`, of one owner when `owner` is given.
pub fn worklists(proposal: &Proposal, now: Timestamp, owner: Option<&str>) -> Worklists {
    let mut proposal = proposal.clone();
    proposal.expire(now);
    let mut owners: Vec<Worklist> = Vec::new();
    let mut changes: Vec<_> =
        proposal.changes.iter().filter(|change| owner.is_none_or(|o| change.owner == o)).collect();
    changes.sort_by(|left, right| {
        left.owner
            .cmp(&right.owner)
            .then(left.deadline.cmp(&right.deadline))
            .then(right.saving.cost_per_day.total_cmp(&left.saving.cost_per_day))
            .then_with(|| left.id.cmp(&right.id))
    });
    for change in changes {
        if owners.last().is_none_or(|list| list.owner != change.owner) {
            owners.push(Worklist {
                owner: change.owner.clone(),
                to_confirm: Vec::new(),
                pending_saving: DailySaving::default(),
                next_deadline: None,
                auto_applied: Vec::new(),
                accepted: 0,
                rejected: 0,
                expired: 0,
            });
        }
        let Some(list) = owners.last_mut() else { continue };
        let item = || WorkItem {
            id: change.id.clone(),
            event: change.event.clone(),
            kind: change.kind,
            how: change.how.clone(),
            why: change.why.clone(),
            deadline: change.deadline,
            saving: change.saving,
            blocked_by: change.blocked_by.clone(),
        };
        match change.state {
            ChangeState::Pending => {
                list.pending_saving = list.pending_saving.plus(change.saving);
                list.next_deadline = Some(list.next_deadline.map_or(change.deadline, |at| at.min(change.deadline)));
                list.to_confirm.push(item());
            }
            ChangeState::AutoApplied => list.auto_applied.push(item()),
            ChangeState::Accepted => list.accepted += 1,
            ChangeState::Rejected => list.rejected += 1,
            ChangeState::Expired => list.expired += 1,
        }
    }
    Worklists {
        format: WORKLIST_FORMAT.to_owned(),
        now,
        currency: proposal.report.currency.clone(),
        plan: format!("{}/{} version {}", proposal.plan.app, proposal.plan.env, proposal.plan.version),
        owners,
    }
}
