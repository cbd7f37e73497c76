//! The release record: one JSON document (`trackgate-release/1`) that holds both plans, the
//! rollout, the guards, the check and diff results, the approvals, and every stage with who
//! did it, when it started and ended.
//!
//! Guarantees:
//! - [`ReleaseRecord::parse`] refuses a newer format (naming it) before reading anything else,
//!   refuses unknown fields, and names line and column of a bad value.
//! - A record carries an integrity digest (SHA-256 of its canonical JSON without the digest),
//!   and each plan's digest (SHA-256 of its payload encoding, the bytes an envelope signs). A
//!   record changed by hand fails [`ReleaseRecord::parse`] with [`ReleaseError::Edited`] or
//!   [`ReleaseError::PlanEdited`]. This catches edits and corruption, not an attacker (anyone
//!   can recompute a digest): what devices enforce is protected by the envelope signatures.
//! - [`ReleaseRecord::to_json`] always writes a fresh digest, so a record written by this crate
//!   parses back.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use trackgate_core::Plan;
use trackgate_delivery::encode_plan;
use trackgate_delivery::envelope::to_hex;

use crate::check::{CheckConfig, Finding};
use crate::diff::PlanDiff;
use crate::error::ReleaseError;
use crate::rollout::RolloutPlan;
use crate::watch::GuardConfig;

/// The record format this build reads and writes.
pub const RECORD_FORMAT: &str = "trackgate-release/1";

const FORMAT_PREFIX: &str = "trackgate-release/";

/// The stages of a release, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// The two plans were registered.
    Register,
    /// The risk rules ran.
    Check,
    /// The per-event diff with projected impact was computed.
    Diff,
    /// A business-role key approved (signed).
    BusinessReview,
    /// A technical-role key approved (signed).
    TechnicalReview,
    /// The start time was set; the stage lasts until it.
    Schedule,
    /// One step of the staged rollout (below 100 %).
    Rollout,
    /// The last step: every device offered the plan, watched for its duration.
    Watch,
    /// Watched clean to the end: done.
    Confirm,
    /// A guard breached: halted and rolled back.
    Rollback,
}

impl Stage {
    /// The name shown in tables.
    pub fn label(self) -> &'static str {
        match self {
            Stage::Register => "register",
            Stage::Check => "check",
            Stage::Diff => "diff",
            Stage::BusinessReview => "business review",
            Stage::TechnicalReview => "technical review",
            Stage::Schedule => "schedule",
            Stage::Rollout => "staged rollout",
            Stage::Watch => "watch",
            Stage::Confirm => "confirm",
            Stage::Rollback => "rollback",
        }
    }
}

/// One stage as it happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageEntry {
    /// Which stage.
    pub stage: Stage,
    /// For rollout and watch steps: the share of devices offered the plan, in basis points.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub share_basis_points: Option<u16>,
    /// Who did it (a person, or `watch` for automatic moves).
    pub by: String,
    /// When it started (Unix seconds): when the previous stage ended.
    pub started_at: u64,
    /// When it ended; `None` while it runs.
    pub ended_at: Option<u64>,
    /// What came out of it, in one line.
    pub result: String,
}

impl StageEntry {
    /// Seconds from start to end (to `now` while it runs).
    pub fn duration(&self, now: u64) -> u64 {
        self.ended_at.unwrap_or(now).saturating_sub(self.started_at)
    }
}

/// The two review roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Owns what the data is for (cost, value, legal).
    Business,
    /// Owns whether the plan is safe to run (apps, pipelines).
    Technical,
}

impl Role {
    /// `business` or `technical`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Business => "business",
            Role::Technical => "technical",
        }
    }

    /// Parses `business` or `technical`.
    pub fn parse(text: &str) -> Option<Role> {
        [Role::Business, Role::Technical].into_iter().find(|role| role.as_str() == text)
    }

    /// The review stage this role's approval closes.
    pub fn stage(self) -> Stage {
        match self {
            Role::Business => Stage::BusinessReview,
            Role::Technical => Stage::TechnicalReview,
        }
    }
}

/// One review: a signature by a key of a role over the release's plan digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Approval {
    /// The role the key holds.
    pub role: Role,
    /// The key's id (16 hex digits).
    pub key_id: String,
    /// The public key (64 hex digits), so anyone can check the signature.
    pub public_key: String,
    /// Who approved.
    pub by: String,
    /// When (Unix seconds).
    pub at: u64,
    /// Ed25519 signature (128 hex digits) over [`ReleaseRecord::approval_message`].
    pub signature: String,
    /// What the reviewer said.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub comment: String,
}

/// Where the release stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case", deny_unknown_fields)]
pub enum ReleaseState {
    /// Before the rollout: registered, checked, diffed, reviewed or scheduled (the stages say
    /// which). No device is offered the plan.
    Preparing,
    /// Step `step` of the rollout is running (the last step is the watch at 100 %).
    RollingOut {
        /// Index into the rollout's steps.
        step: usize,
    },
    /// Watched clean to the end.
    Confirmed,
    /// A guard breached; the previous content is served as `rollback_version` to everyone.
    RolledBack {
        /// Why, in one line.
        reason: String,
    },
}

/// A release of one plan version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReleaseRecord {
    /// Always [`RECORD_FORMAT`].
    pub format: String,
    /// The release's name (letters, digits, `_ . -`), also the stem of its files.
    pub id: String,
    /// App of both plans.
    pub app: String,
    /// Environment of both plans.
    pub env: String,
    /// The version devices run now.
    pub from_version: u64,
    /// The version released.
    pub to_version: u64,
    /// The version the previous content is re-issued as if the release is rolled back (above
    /// `to_version`, so no device's anti-rollback floor is ever lowered).
    pub rollback_version: u64,
    /// SHA-256 (hex) of the previous plan's payload encoding.
    pub previous_digest: String,
    /// SHA-256 (hex) of the next plan's payload encoding: what the approvals sign.
    pub next_digest: String,
    /// The plan devices run now.
    pub previous: Plan,
    /// The plan released.
    pub next: Plan,
    /// Steps, shares and durations.
    pub rollout: RolloutPlan,
    /// The watch's guard metrics.
    pub guards: GuardConfig,
    /// The risk rules' severities and thresholds.
    pub check_config: CheckConfig,
    /// The latest check's findings.
    pub findings: Vec<Finding>,
    /// The latest diff.
    pub diff: Option<PlanDiff>,
    /// The reviews.
    pub approvals: Vec<Approval>,
    /// When the rollout starts (Unix seconds), once scheduled.
    pub scheduled_at: Option<u64>,
    /// Every stage so far, in order.
    pub stages: Vec<StageEntry>,
    /// Where it stands.
    pub state: ReleaseState,
    /// SHA-256 (hex) of this record's JSON with this field empty.
    pub integrity: String,
}

/// SHA-256 (hex) of a plan's payload encoding.
pub fn plan_digest(plan: &Plan) -> String {
    to_hex(&Sha256::digest(encode_plan(plan)))
}

impl ReleaseRecord {
    /// Reads a record: format first (newer ones refused), then every field, then the digests.
    pub fn parse(text: &str) -> Result<ReleaseRecord, ReleaseError> {
        check_format(text)?;
        let record: ReleaseRecord = serde_json::from_str(text).map_err(|error| ReleaseError::Json {
            line: error.line(),
            column: error.column(),
            message: error.to_string(),
        })?;
        let expected = record.compute_integrity();
        if record.integrity != expected {
            return Err(ReleaseError::Edited { expected, found: record.integrity });
        }
        for (which, plan, digest) in
            [("previous", &record.previous, &record.previous_digest), ("next", &record.next, &record.next_digest)]
        {
            if plan_digest(plan) != *digest {
                return Err(ReleaseError::PlanEdited { which, digest: digest.clone() });
            }
        }
        Ok(record)
    }

    /// The record as pretty JSON with a fresh integrity digest.
    pub fn to_json(&self) -> String {
        let mut sealed = self.clone();
        sealed.integrity = self.compute_integrity();
        // Plain data with string keys: serializing cannot fail.
        serde_json::to_string_pretty(&sealed).unwrap_or_default() + "\n"
    }

    fn compute_integrity(&self) -> String {
        let mut blank = self.clone();
        blank.integrity = String::new();
        to_hex(&Sha256::digest(serde_json::to_vec(&blank).unwrap_or_default()))
    }

    /// The bytes an approval signs: a domain tag, the release id, the scope, the versions and
    /// the next plan's digest, so a signature approves exactly this plan in this release.
    pub fn approval_message(&self, role: Role) -> Vec<u8> {
        format!(
            "trackgate-release-approval-v1\0{}\0{}\0{}\0{}\0{}\0{}\0{}",
            self.id,
            self.app,
            self.env,
            self.from_version,
            self.to_version,
            self.next_digest,
            role.as_str()
        )
        .into_bytes()
    }

    /// The stage entry that is still running, if any.
    pub fn running(&self) -> Option<&StageEntry> {
        self.stages.iter().rev().find(|entry| entry.ended_at.is_none())
    }

    /// When the latest stage ended (the start of the next one).
    pub fn last_ended_at(&self) -> u64 {
        self.stages.iter().filter_map(|entry| entry.ended_at).max().unwrap_or(0)
    }

    /// Whether a completed entry of `stage` exists.
    pub fn has(&self, stage: Stage) -> bool {
        self.stages.iter().any(|entry| entry.stage == stage && entry.ended_at.is_some())
    }

    /// The approval of `role`, if given.
    pub fn approval(&self, role: Role) -> Option<&Approval> {
        self.approvals.iter().find(|approval| approval.role == role)
    }

    /// One word for where the release stands: the next stage, or the outcome.
    pub fn summary(&self) -> String {
        match &self.state {
            ReleaseState::Preparing => match crate::pipeline::next_preparing_stage(self) {
                Some(stage) => format!("awaiting {}", stage.label()),
                None => "scheduled".to_owned(),
            },
            ReleaseState::RollingOut { step } => {
                let share = self.rollout.steps.get(*step).map_or(0, |step| step.share_basis_points);
                format!("rolling out at {}", crate::rollout::percent(share))
            }
            ReleaseState::Confirmed => "confirmed".to_owned(),
            ReleaseState::RolledBack { reason } => format!("rolled back: {reason}"),
        }
    }
}

/// Refuses text whose `format` is not [`RECORD_FORMAT`], naming a newer one as such.
fn check_format(text: &str) -> Result<(), ReleaseError> {
    #[derive(Deserialize)]
    struct Head {
        format: Option<serde_json::Value>,
    }
    let head: Head = serde_json::from_str(text).map_err(|error| ReleaseError::Json {
        line: error.line(),
        column: error.column(),
        message: error.to_string(),
    })?;
    let not_a_record = |found: String| ReleaseError::NotARecord { found, supported: RECORD_FORMAT };
    let found = match head.format {
        Some(serde_json::Value::String(found)) => found,
        Some(other) => return Err(not_a_record(other.to_string())),
        None => return Err(not_a_record("missing".to_owned())),
    };
    if found == RECORD_FORMAT {
        return Ok(());
    }
    let newer = found
        .strip_prefix(FORMAT_PREFIX)
        .and_then(|version| version.parse::<u32>().ok())
        .is_some_and(|version| version > 1);
    if newer {
        Err(ReleaseError::NewerFormat { found, supported: RECORD_FORMAT })
    } else {
        Err(not_a_record(format!("{found:?}")))
    }
}
