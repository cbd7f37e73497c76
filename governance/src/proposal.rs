//! The proposal file (`trackgate-proposal/1`): the changes proposed to one plan version, each
//! with its owner, exact edit, reasons, projected saving, deadline and state; and owner review.
//!
//! Owns the format, its reading (a newer format is refused before any field is read; every
//! problem has its JSON path, and line:column when it is a parse problem), the rules between
//! fields ([`Proposal::check`]), expiry at the deadline and recording answers. A review is all or
//! nothing: every id is checked before any state changes. Pure data; the caller reads and writes
//! the file (crash-safely) and passes `now`.

use serde::{Deserialize, Serialize};

use crate::edit::PlanEdit;
use crate::guardrails::Block;
use crate::json::{check_format, parse, DocumentError};
use crate::policy::{Mode, Policy};
use crate::report::CandidateKind;
use crate::time::Timestamp;

/// The `format` this build reads and writes.
pub const PROPOSAL_FORMAT: &str = "trackgate-proposal/1";

/// Proposed changes to one plan version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Proposal {
    /// [`PROPOSAL_FORMAT`].
    pub format: String,
    /// When it was made.
    pub created: Timestamp,
    /// Supervised or unsupervised (from the policy).
    pub mode: Mode,
    /// The plan it was made against.
    pub plan: PlanRef,
    /// The report it was made from.
    pub report: ReportRef,
    /// The policy it was made with (defaults filled in).
    pub policy: Policy,
    /// The changes, by owner then event.
    pub changes: Vec<Change>,
}

/// The plan version a proposal was made against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanRef {
    /// The plan's app.
    pub app: String,
    /// The plan's env.
    pub env: String,
    /// The plan's version.
    pub version: u64,
    /// `sha256:` and the hex SHA-256 of the plan's delivery payload ([`crate::plan_digest`]).
    pub digest: String,
    /// The plan file as given to `propose` (absolute), the default for `plan apply`.
    #[serde(default)]
    pub file: Option<String>,
}

/// The report a proposal was made from: enough to read its per-day figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportRef {
    /// Days the report covers (its windows; each window is a day).
    pub days: u32,
    /// Currency of every cost.
    pub currency: String,
    /// Kept events per day over every event (the base of the kept-share guardrail).
    pub kept_per_day: f64,
}

/// Where a change stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChangeState {
    /// Waiting for its owner.
    Pending,
    /// The owner accepted it: `plan apply` applies it.
    Accepted,
    /// The owner rejected it.
    Rejected,
    /// Its deadline passed unanswered.
    Expired,
    /// Applied by the unsupervised policy: `plan apply` applies it.
    AutoApplied,
}

impl ChangeState {
    /// `pending`, `accepted`, `rejected`, `expired` or `auto-applied`.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeState::Pending => "pending",
            ChangeState::Accepted => "accepted",
            ChangeState::Rejected => "rejected",
            ChangeState::Expired => "expired",
            ChangeState::AutoApplied => "auto-applied",
        }
    }

    /// Whether `plan apply` applies a change in this state.
    pub fn applies(self) -> bool {
        matches!(self, ChangeState::Accepted | ChangeState::AutoApplied)
    }
}

/// A projected saving per day.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DailySaving {
    /// Events per day no longer kept.
    pub events_per_day: f64,
    /// Bytes per day no longer kept.
    pub bytes_per_day: f64,
    /// Cost per day saved, in the report's currency.
    pub cost_per_day: f64,
}

impl DailySaving {
    /// The sum of two savings.
    pub fn plus(self, other: DailySaving) -> DailySaving {
        DailySaving {
            events_per_day: self.events_per_day + other.events_per_day,
            bytes_per_day: self.bytes_per_day + other.bytes_per_day,
            cost_per_day: self.cost_per_day + other.cost_per_day,
        }
    }
}

/// An owner's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Answer {
    /// Who answered.
    pub by: String,
    /// When.
    pub at: Timestamp,
    /// Why, if they said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// One proposed change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Change {
    /// Stable id: `kind:event` (the same change proposed again has the same id).
    pub id: String,
    /// The event.
    pub event: String,
    /// Its owner.
    pub owner: String,
    /// Retire, sample or downgrade.
    pub kind: CandidateKind,
    /// The exact plan edit.
    pub edit: PlanEdit,
    /// Why: the measurements and the rule they crossed.
    pub why: String,
    /// What changes for the data's users.
    pub what: String,
    /// How: the edit in words.
    pub how: String,
    /// When it takes effect.
    pub when: String,
    /// Projected saving per day.
    pub saving: DailySaving,
    /// The event's kept events per day (what the change touches).
    pub kept_per_day: f64,
    /// Owners answer before this; a pending change expires then.
    pub deadline: Timestamp,
    /// Where it stands.
    pub state: ChangeState,
    /// Guardrails that keep it from being applied automatically (informational when supervised).
    #[serde(default)]
    pub blocked_by: Vec<Block>,
    /// The owner's answer (accepted or rejected changes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<Answer>,
}

/// Accept or reject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Accept the change.
    Accept,
    /// Reject the change.
    Reject,
}

/// Why a review was refused (nothing was changed).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReviewError {
    /// No change has this id.
    #[error("no change `{0}` in the proposal")]
    UnknownId(String),
    /// The id was given twice.
    #[error("change `{0}` is named twice")]
    Duplicate(String),
    /// The change was already answered (or auto-applied).
    #[error("change `{id}` is already {state}")]
    AlreadyAnswered {
        /// The change.
        id: String,
        /// Its state.
        state: &'static str,
    },
    /// Its deadline passed.
    #[error("change `{id}` expired at its deadline {deadline}")]
    Expired {
        /// The change.
        id: String,
        /// Its deadline.
        deadline: Timestamp,
    },
    /// No reviewer name.
    #[error("the reviewer's name (--by) is empty")]
    NoReviewer,
    /// No id at all.
    #[error("no change to accept or reject")]
    Nothing,
}

impl Proposal {
    /// Reads a proposal: its format first (a newer one is refused as newer), then its fields
    /// (problems with line:column and JSON path), then the rules between fields.
    pub fn parse(text: &str) -> Result<Proposal, DocumentError> {
        check_format(text, PROPOSAL_FORMAT)?;
        let proposal: Proposal = parse(text)?;
        proposal.check()?;
        Ok(proposal)
    }

    /// The proposal as pretty JSON, with a final newline.
    pub fn to_json(&self) -> String {
        // Plain data with string keys: serializing cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default() + "\n"
    }

    /// The rules between fields: unique ids, each kind matching its edit, answers exactly on
    /// answered changes, auto-applied changes only in unsupervised proposals.
    pub fn check(&self) -> Result<(), DocumentError> {
        if self.report.days == 0 {
            return Err(DocumentError::at_path("$.report.days", "must be at least 1"));
        }
        for (index, change) in self.changes.iter().enumerate() {
            let at =
                |field: &str, message: String| DocumentError::at_path(format!("$.changes[{index}]{field}"), message);
            if self.changes[..index].iter().any(|other| other.id == change.id) {
                return Err(at(".id", format!("`{}` is used by an earlier change", change.id)));
            }
            match change.edit.kind() {
                Some(kind) if kind == change.kind => {}
                Some(kind) => {
                    return Err(at(".edit", format!("is a {kind} edit, but the change's kind is {}", change.kind)))
                }
                None => {
                    return Err(at(
                        ".edit",
                        format!("is not a {} (a proposal only retires, samples or downgrades)", change.kind),
                    ))
                }
            }
            let answered = matches!(change.state, ChangeState::Accepted | ChangeState::Rejected);
            match (&change.answer, answered) {
                (None, true) => {
                    return Err(at(
                        ".answer",
                        format!("missing: a {} change records who answered", change.state.as_str()),
                    ))
                }
                (Some(_), false) => {
                    return Err(at(".answer", format!("a {} change has no answer", change.state.as_str())))
                }
                _ => {}
            }
            if change.state == ChangeState::AutoApplied && self.mode != Mode::Unsupervised {
                return Err(at(".state", "auto-applied in a supervised proposal".to_owned()));
            }
        }
        Ok(())
    }

    /// Marks every pending change whose deadline is at or before `now` as expired; returns their
    /// ids.
    pub fn expire(&mut self, now: Timestamp) -> Vec<String> {
        let mut expired = Vec::new();
        for change in &mut self.changes {
            if change.state == ChangeState::Pending && change.deadline <= now {
                change.state = ChangeState::Expired;
                expired.push(change.id.clone());
            }
        }
        expired
    }

    /// Records `verdict` by `by` at `now` on each of `ids`, after expiring what is due. All or
    /// nothing: on an error the proposal is unchanged.
    pub fn review(
        &mut self,
        decisions: &[(String, Verdict)],
        by: &str,
        comment: Option<&str>,
        now: Timestamp,
    ) -> Result<(), ReviewError> {
        if by.trim().is_empty() {
            return Err(ReviewError::NoReviewer);
        }
        if decisions.is_empty() {
            return Err(ReviewError::Nothing);
        }
        let mut indices = Vec::with_capacity(decisions.len());
        for (position, (id, _)) in decisions.iter().enumerate() {
            if decisions[..position].iter().any(|(other, _)| other == id) {
                return Err(ReviewError::Duplicate(id.clone()));
            }
            let index = self
                .changes
                .iter()
                .position(|change| &change.id == id)
                .ok_or_else(|| ReviewError::UnknownId(id.clone()))?;
            let change = &self.changes[index];
            match change.state {
                ChangeState::Pending if change.deadline <= now => {
                    return Err(ReviewError::Expired { id: id.clone(), deadline: change.deadline })
                }
                ChangeState::Pending => {}
                ChangeState::Expired => return Err(ReviewError::Expired { id: id.clone(), deadline: change.deadline }),
                state => return Err(ReviewError::AlreadyAnswered { id: id.clone(), state: state.as_str() }),
            }
            indices.push(index);
        }
        self.expire(now);
        for (index, (_, verdict)) in indices.into_iter().zip(decisions) {
            let change = &mut self.changes[index];
            change.state = match verdict {
                Verdict::Accept => ChangeState::Accepted,
                Verdict::Reject => ChangeState::Rejected,
            };
            change.answer = Some(Answer {
                by: by.to_owned(),
                at: now,
                comment: comment.map(str::to_owned).filter(|c| !c.is_empty()),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::edit::PlanEdit;
    use trackgate_core::plan::EventStatus;

    fn at(text: &str) -> Timestamp {
        Timestamp::parse(text).unwrap()
    }

    fn proposal() -> Proposal {
        let change = |event: &str| Change {
            id: format!("retire:{event}"),
            event: event.to_owned(),
            owner: "team".to_owned(),
            kind: CandidateKind::Retire,
            edit: PlanEdit::retire(EventStatus::Active),
            why: String::new(),
            what: String::new(),
            how: String::new(),
            when: String::new(),
            saving: DailySaving::default(),
            kept_per_day: 1.0,
            deadline: at("2026-11-10"),
            state: ChangeState::Pending,
            blocked_by: Vec::new(),
            answer: None,
        };
        Proposal {
            format: PROPOSAL_FORMAT.to_owned(),
            created: at("2026-11-01"),
            mode: Mode::Supervised,
            plan: PlanRef { app: "a".into(), env: "e".into(), version: 1, digest: "sha256:00".into(), file: None },
            report: ReportRef { days: 1, currency: "EUR".into(), kept_per_day: 2.0 },
            policy: Policy::default(),
            changes: vec![change("a.one"), change("a.two")],
        }
    }

    #[test]
    fn a_review_is_all_or_nothing() {
        let mut proposal = proposal();
        let before = proposal.clone();
        let decisions = [("retire:a.one".to_owned(), Verdict::Accept), ("retire:a.three".to_owned(), Verdict::Reject)];
        let error = proposal.review(&decisions, "ana", None, at("2026-11-02")).unwrap_err();
        assert_eq!(error, ReviewError::UnknownId("retire:a.three".into()));
        assert_eq!(proposal, before);
        proposal.review(&decisions[..1], "ana", Some("ok"), at("2026-11-02")).unwrap();
        assert_eq!(proposal.changes[0].state, ChangeState::Accepted);
        assert_eq!(
            proposal.changes[0].answer,
            Some(Answer { by: "ana".into(), at: at("2026-11-02"), comment: Some("ok".into()) })
        );
        let again = proposal.review(&decisions[..1], "bo", None, at("2026-11-03")).unwrap_err();
        assert_eq!(again.to_string(), "change `retire:a.one` is already accepted");
        // The written form reads back identically.
        assert_eq!(Proposal::parse(&proposal.to_json()).unwrap(), proposal);
    }

    #[test]
    fn pending_changes_expire_at_their_deadline() {
        let mut proposal = proposal();
        assert!(proposal.expire(at("2026-11-09T23:59:59Z")).is_empty());
        let late = proposal.review(&[("retire:a.two".into(), Verdict::Accept)], "ana", None, at("2026-11-10"));
        assert!(matches!(late, Err(ReviewError::Expired { .. })));
        assert_eq!(proposal.changes[1].state, ChangeState::Pending);
        assert_eq!(proposal.expire(at("2026-11-10")), ["retire:a.one", "retire:a.two"]);
    }

    #[test]
    fn rules_between_fields_are_checked() {
        let mut proposal = proposal();
        proposal.changes[1].id = "retire:a.one".into();
        assert_eq!(proposal.check().unwrap_err().path, "$.changes[1].id");
        let mut proposal = self::proposal();
        proposal.changes[0].state = ChangeState::AutoApplied;
        assert_eq!(
            proposal.check().unwrap_err().to_string(),
            "0:0: $.changes[0].state: auto-applied in a supervised proposal"
        );
    }
}
