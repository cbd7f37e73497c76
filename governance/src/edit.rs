//! The exact plan edit of a candidate or a proposed change: one field of one event, from its
//! current value to the new one.
//!
//! Owns the three edits governance makes (retire, sample, downgrade), how each is built from an
//! event's rule, how it reads in words, and how it is applied to a plan. The `from` value is
//! part of the edit, so applying it to a plan that no longer holds that value is refused rather
//! than silently overwriting someone else's change. Pure data.

use serde::{Deserialize, Serialize};
use trackgate_core::plan::{event_path, EventRule, EventStatus, SampleRate};
use trackgate_core::Priority;

use crate::report::CandidateKind;

/// One field of one event, from a value to another. In JSON: `{"set": "status", "from":
/// "active", "to": "retired"}`, `{"set": "sample", "from": 1, "to": 0.1}` or `{"set":
/// "priority", "from": "P1", "to": "P2"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "set", rename_all = "snake_case", deny_unknown_fields)]
pub enum PlanEdit {
    /// The event's `status`.
    Status {
        /// The value the plan holds.
        from: EventStatus,
        /// The value it gets.
        to: EventStatus,
    },
    /// The event's `sample` rate.
    Sample {
        /// The value the plan holds.
        from: SampleRate,
        /// The value it gets.
        to: SampleRate,
    },
    /// The event's `priority`.
    Priority {
        /// The value the plan holds.
        from: Priority,
        /// The value it gets.
        to: Priority,
    },
}

/// Why an edit cannot be applied to an event's rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditProblem {
    /// The plan holds another value than the edit's `from`.
    #[error("the plan's {field} is {found}, not {expected} as the edit expects")]
    FromMismatch {
        /// The edited field.
        field: &'static str,
        /// What the edit expects.
        expected: String,
        /// What the plan holds.
        found: String,
    },
}

/// The priority a downgrade candidate is moved to: P0 to P1, anything else to P2.
pub fn downgraded(priority: Priority) -> Priority {
    match priority {
        Priority::P0 => Priority::P1,
        _ => Priority::P2,
    }
}

impl PlanEdit {
    /// Retire an event whose rule has `status`.
    pub fn retire(status: EventStatus) -> PlanEdit {
        PlanEdit::Status { from: status, to: EventStatus::Retired }
    }

    /// Sample an event kept at `from` at `to` instead.
    pub fn sample(from: SampleRate, to: SampleRate) -> PlanEdit {
        PlanEdit::Sample { from, to }
    }

    /// Lower an event of `priority` one step ([`downgraded`]).
    pub fn downgrade(priority: Priority) -> PlanEdit {
        PlanEdit::Priority { from: priority, to: downgraded(priority) }
    }

    /// The governance change this edit makes, or `None` when it makes none of them (a no-op,
    /// an un-retire, a higher rate or priority: changes a proposal does not carry).
    pub fn kind(&self) -> Option<CandidateKind> {
        match *self {
            PlanEdit::Status { from: EventStatus::Active, to: EventStatus::Retired } => Some(CandidateKind::Retire),
            PlanEdit::Sample { from, to } if to < from => Some(CandidateKind::Sample),
            PlanEdit::Priority { from, to } if to > from => Some(CandidateKind::Downgrade),
            _ => None,
        }
    }

    /// The edited field's name in the plan.
    pub fn field(&self) -> &'static str {
        match self {
            PlanEdit::Status { .. } => "status",
            PlanEdit::Sample { .. } => "sample",
            PlanEdit::Priority { .. } => "priority",
        }
    }

    /// The edit in words: `set $.events["name"].sample to 0.1`.
    pub fn describe(&self, event: &str) -> String {
        let path = event_path(event);
        match self {
            PlanEdit::Status { to, .. } => format!("set {path}.status to \"{}\"", status_text(*to)),
            PlanEdit::Sample { to, .. } => format!("set {path}.sample to {to}"),
            PlanEdit::Priority { to, .. } => format!("set {path}.priority to \"{to}\""),
        }
    }

    /// Applies the edit to an event's rule, refusing when the rule does not hold `from`.
    pub fn apply(&self, rule: &mut EventRule) -> Result<(), EditProblem> {
        let mismatch = |field, expected: String, found: String| EditProblem::FromMismatch { field, expected, found };
        match *self {
            PlanEdit::Status { from, to } => {
                if rule.status != from {
                    return Err(mismatch("status", status_text(from).into(), status_text(rule.status).into()));
                }
                rule.status = to;
            }
            PlanEdit::Sample { from, to } => {
                if rule.sample != from {
                    return Err(mismatch("sample", from.to_string(), rule.sample.to_string()));
                }
                rule.sample = to;
            }
            PlanEdit::Priority { from, to } => {
                if rule.priority != from {
                    return Err(mismatch("priority", from.to_string(), rule.priority.to_string()));
                }
                rule.priority = to;
            }
        }
        Ok(())
    }
}

fn status_text(status: EventStatus) -> &'static str {
    match status {
        EventStatus::Active => "active",
        EventStatus::Retired => "retired",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule() -> EventRule {
        serde_json::from_str(r#"{"priority": "P1"}"#).unwrap()
    }

    #[test]
    fn edits_have_their_kind_and_words() {
        let rate = SampleRate::from_parts_per_million(100_000).unwrap();
        assert_eq!(PlanEdit::retire(EventStatus::Active).kind(), Some(CandidateKind::Retire));
        assert_eq!(PlanEdit::sample(SampleRate::ALWAYS, rate).kind(), Some(CandidateKind::Sample));
        assert_eq!(PlanEdit::downgrade(Priority::P1).kind(), Some(CandidateKind::Downgrade));
        assert_eq!(PlanEdit::sample(rate, SampleRate::ALWAYS).kind(), None);
        assert_eq!(PlanEdit::Priority { from: Priority::P2, to: Priority::P1 }.kind(), None);
        assert_eq!(
            PlanEdit::sample(SampleRate::ALWAYS, rate).describe("a\"b"),
            r#"set $.events["a\"b"].sample to 0.1"#
        );
    }

    #[test]
    fn apply_checks_the_from_value() {
        let mut rule = rule();
        PlanEdit::downgrade(Priority::P1).apply(&mut rule).unwrap();
        assert_eq!(rule.priority, Priority::P2);
        let again = PlanEdit::downgrade(Priority::P1).apply(&mut rule).unwrap_err();
        assert_eq!(again.to_string(), "the plan's priority is P2, not P1 as the edit expects");
    }

    #[test]
    fn edits_round_trip_through_json() {
        let edit = PlanEdit::sample(SampleRate::ALWAYS, SampleRate::from_parts_per_million(250_000).unwrap());
        let text = serde_json::to_string(&edit).unwrap();
        assert_eq!(text, r#"{"set":"sample","from":1.0,"to":0.25}"#);
        assert_eq!(serde_json::from_str::<PlanEdit>(&text).unwrap(), edit);
    }
}
