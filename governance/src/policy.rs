//! The governance policy (`--policy POLICY.json`): supervised or unsupervised, which changes
//! the uniform rules may apply on their own, and the guardrails that hold them back.
//!
//! Every field is optional; the defaults are the safe ones (supervised; every guardrail on).
//! Unknown fields are refused, so a misspelt guardrail is never silently ignored. Pure data.

use serde::{Deserialize, Serialize};

use crate::report::CandidateKind;
use crate::FieldProblem;

/// Who decides on a change.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Owners accept or reject each change before its deadline; unanswered changes expire.
    #[default]
    Supervised,
    /// The policy's uniform rules apply every change the guardrails let through; the rest wait
    /// for their owners as in supervised mode.
    Unsupervised,
}

/// The policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Policy {
    /// Supervised (default) or unsupervised.
    pub mode: Mode,
    /// Days owners have to answer; `None` takes the report's `rules.confirm_days` (default 14).
    pub confirm_days: Option<u32>,
    /// Kinds of change unsupervised mode applies on its own (default: all three).
    pub auto_apply: Vec<CandidateKind>,
    /// What automatic application must never do.
    pub guardrails: Guardrails,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            mode: Mode::Supervised,
            confirm_days: None,
            auto_apply: vec![CandidateKind::Retire, CandidateKind::Sample, CandidateKind::Downgrade],
            guardrails: Guardrails::default(),
        }
    }
}

/// The guardrails of automatic application, all on by default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Guardrails {
    /// Never touch a P0 event.
    pub protect_p0: bool,
    /// Never touch an event a real-time rule reads.
    pub protect_realtime: bool,
    /// Never touch an event read at all in the usage window (or whose usage is unknown).
    pub protect_read: bool,
    /// Never touch an event registered less than this many days ago (or whose registration
    /// date is unknown); 0 turns the guardrail off.
    pub min_registered_days: u32,
    /// At most this share (0–1) of the kept events per day may be changed by one proposal's
    /// automatic changes (one release); 1 turns the guardrail off.
    pub max_kept_share: f64,
}

impl Default for Guardrails {
    fn default() -> Self {
        Guardrails {
            protect_p0: true,
            protect_realtime: true,
            protect_read: true,
            min_registered_days: 30,
            max_kept_share: 0.1,
        }
    }
}

impl Policy {
    /// Refuses values outside their range, naming the field.
    pub fn check(&self) -> Result<(), FieldProblem> {
        let share = self.guardrails.max_kept_share;
        if !(share.is_finite() && (0.0..=1.0).contains(&share)) {
            return Err(FieldProblem::new("$.guardrails.max_kept_share", "must be between 0 and 1"));
        }
        if self.confirm_days == Some(0) {
            return Err(FieldProblem::new("$.confirm_days", "must be at least 1"));
        }
        for (index, kind) in self.auto_apply.iter().enumerate() {
            if self.auto_apply[..index].contains(kind) {
                return Err(FieldProblem::new(format!("$.auto_apply[{index}]"), format!("`{kind}` is listed twice")));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_policy_is_supervised_with_every_guardrail_on() {
        let policy: Policy = crate::json::parse("{}").unwrap();
        assert_eq!(policy, Policy::default());
        assert!(policy.guardrails.protect_p0 && policy.guardrails.protect_realtime && policy.guardrails.protect_read);
        assert_eq!((policy.guardrails.min_registered_days, policy.guardrails.max_kept_share), (30, 0.1));
    }

    #[test]
    fn bad_fields_are_named() {
        let error = crate::json::parse::<Policy>("{\"guardrails\": {\"protect_p1\": true}}").unwrap_err();
        assert_eq!(error.path, "$.guardrails.protect_p1");
        assert!(error.message.contains("unknown field `protect_p1`"), "{error}");
        let error = crate::json::parse::<Policy>("{\"mode\": \"auto\"}").unwrap_err();
        assert_eq!((error.path.as_str(), error.line, error.column), ("$.mode", 1, 15));
        let policy: Policy = crate::json::parse("{\"guardrails\": {\"max_kept_share\": 1.5}}").unwrap();
        assert_eq!(policy.check().unwrap_err().to_string(), "$.guardrails.max_kept_share: must be between 0 and 1");
        let policy: Policy = crate::json::parse("{\"auto_apply\": [\"retire\", \"retire\"]}").unwrap();
        assert_eq!(policy.check().unwrap_err().path, "$.auto_apply[1]");
    }
}
