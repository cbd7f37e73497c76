//! The operations that move a release from stage to stage.
//!
//! Every operation takes the record by reference and the time `now` (Unix seconds), and
//! returns a new record or a [`ReleaseError`]; a refused operation changes nothing. Order:
//!
//! 1. [`register`] — both plans valid, same scope, next version above the previous one.
//! 2. [`ReleaseRecord::check`] — the risk rules; may be re-run (e.g. with another config)
//!    until the diff. Blocking findings stop the release here.
//! 3. [`ReleaseRecord::diff`] — may be re-run until the first approval.
//! 4. [`ReleaseRecord::approve`] — business and technical, in either order, by two different
//!    keys; each an Ed25519 signature over [`ReleaseRecord::approval_message`].
//! 5. [`ReleaseRecord::schedule`] — the start time (the stage lasts until then).
//! 6. [`ReleaseRecord::advance`] — opens the first step once the start time has come, then
//!    moves step by step (each at least its minimum duration and watched clean), confirms after
//!    the last one, or halts and rolls back on a breach. [`ReleaseRecord::watch`] only halts.
//!
//! A stage starts when the one before it ended, so the durations in the record show how long
//! each waited for its person (reviews) or its condition (schedule, watch).

use ed25519_dalek::{Signature, VerifyingKey};
use sha2::{Digest, Sha256};
use trackgate_core::{civil, DropReport, Plan};
use trackgate_delivery::envelope::{to_hex, KeyId};

use crate::check::{blocking, run_check, CheckConfig, CheckInputs};
use crate::diff::{diff, Baseline, CostModel};
use crate::error::ReleaseError;
use crate::record::{plan_digest, Approval, ReleaseRecord, ReleaseState, Role, Stage, StageEntry, RECORD_FORMAT};
use crate::rollout::{percent, RolloutPlan, BUCKETS};
use crate::watch::{evaluate, GuardConfig, Verdict, WatchReport};

/// What [`register`] needs besides the plans.
#[derive(Debug, Clone)]
pub struct RegisterOptions {
    /// The release's name (letters, digits, `_ . -`, at most 64 bytes).
    pub id: String,
    /// Who registers it.
    pub by: String,
    /// Steps and shares; `offset` is replaced by one derived from the id when `None`.
    pub steps: Vec<crate::rollout::RolloutStep>,
    /// The rotation of the buckets; derived from the id when `None`.
    pub offset: Option<u16>,
    /// The watch's thresholds.
    pub guards: GuardConfig,
    /// The check's severities.
    pub check_config: CheckConfig,
}

/// What [`ReleaseRecord::advance`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum Advance {
    /// Nothing moved, and why (start time not reached, not enough reports, step too young).
    Waiting(String),
    /// The rollout's first step opened at this share (basis points).
    Started(u16),
    /// The previous step watched clean; this share (basis points) opened.
    NextStep(u16),
    /// The last step watched clean: the release is confirmed.
    Confirmed,
    /// A guard breached: halted and rolled back, with why.
    RolledBack(String),
}

fn check_id(id: &str) -> Result<(), ReleaseError> {
    let fine = !id.is_empty()
        && id.len() <= 64
        && id.bytes().all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'.' | b'-'))
        && !id.starts_with('.');
    if fine {
        Ok(())
    } else {
        Err(ReleaseError::Config {
            field: "id".to_owned(),
            problem: format!("{id:?}: 1 to 64 letters, digits, `_ . -`, not starting with `.`"),
        })
    }
}

fn check_plan(which: &'static str, plan: &Plan) -> Result<(), ReleaseError> {
    let problems: Vec<String> =
        plan.check().iter().filter(|problem| problem.is_error()).map(ToString::to_string).collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ReleaseError::InvalidPlan { which, problems })
    }
}

/// The bucket rotation of a release: the first two bytes of SHA-256 of its id, mod [`BUCKETS`].
pub fn offset_for(id: &str) -> u16 {
    let digest = Sha256::digest(id.as_bytes());
    u16::from_be_bytes([digest[0], digest[1]]) % BUCKETS
}

/// Registers a release of `next` over `previous` at `now`.
pub fn register(previous: Plan, next: Plan, options: RegisterOptions, now: u64) -> Result<ReleaseRecord, ReleaseError> {
    check_id(&options.id)?;
    check_plan("previous", &previous)?;
    check_plan("next", &next)?;
    if (&previous.app, &previous.env) != (&next.app, &next.env) {
        return Err(ReleaseError::ScopeMismatch {
            previous: format!("{}/{}", previous.app, previous.env),
            next: format!("{}/{}", next.app, next.env),
        });
    }
    let rollback_version = next
        .version
        .checked_add(1)
        .filter(|_| next.version > previous.version)
        .ok_or(ReleaseError::VersionNotNewer { previous: previous.version, next: next.version })?;
    let rollout =
        RolloutPlan { steps: options.steps, offset: options.offset.unwrap_or_else(|| offset_for(&options.id)) };
    rollout.check()?;
    options.guards.check()?;
    options.check_config.check()?;
    let by = options.by;
    Ok(ReleaseRecord {
        format: RECORD_FORMAT.to_owned(),
        id: options.id,
        app: next.app.clone(),
        env: next.env.clone(),
        from_version: previous.version,
        to_version: next.version,
        rollback_version,
        previous_digest: plan_digest(&previous),
        next_digest: plan_digest(&next),
        previous,
        next,
        rollout,
        guards: options.guards,
        check_config: options.check_config,
        findings: Vec::new(),
        diff: None,
        approvals: Vec::new(),
        scheduled_at: None,
        stages: vec![StageEntry {
            stage: Stage::Register,
            share_basis_points: None,
            by,
            started_at: now,
            ended_at: Some(now),
            result: "registered".to_owned(),
        }],
        state: ReleaseState::Preparing,
        integrity: String::new(),
    })
}

/// The next stage a preparing release waits for (`None` once scheduled).
pub fn next_preparing_stage(record: &ReleaseRecord) -> Option<Stage> {
    if !check_passed(record) {
        return Some(Stage::Check);
    }
    if !record.has(Stage::Diff) {
        return Some(Stage::Diff);
    }
    for role in [Role::Business, Role::Technical] {
        if record.approval(role).is_none() {
            return Some(role.stage());
        }
    }
    if record.scheduled_at.is_none() {
        return Some(Stage::Schedule);
    }
    None
}

fn check_passed(record: &ReleaseRecord) -> bool {
    record.has(Stage::Check) && blocking(&record.findings).is_empty()
}

impl ReleaseRecord {
    fn preparing(&self, action: &'static str, now: u64) -> Result<ReleaseRecord, ReleaseError> {
        match &self.state {
            ReleaseState::Preparing => {}
            ReleaseState::RollingOut { .. } => {
                return Err(ReleaseError::OutOfOrder { action, reason: "the rollout has started".to_owned() })
            }
            ReleaseState::Confirmed => return Err(ReleaseError::Finished("confirmed".to_owned())),
            ReleaseState::RolledBack { .. } => return Err(ReleaseError::Finished("rolled back".to_owned())),
        }
        self.not_before_last(action, now)?;
        Ok(self.clone())
    }

    fn not_before_last(&self, action: &'static str, now: u64) -> Result<(), ReleaseError> {
        let last = self.last_ended_at();
        if now < last {
            return Err(ReleaseError::OutOfOrder {
                action,
                reason: format!("the time given ({now}) is before the last stage ended ({last})"),
            });
        }
        Ok(())
    }

    fn push(&mut self, stage: Stage, by: &str, started_at: u64, ended_at: Option<u64>, result: String) {
        self.stages.push(StageEntry {
            stage,
            share_basis_points: None,
            by: by.to_owned(),
            started_at,
            ended_at,
            result,
        });
    }

    /// Runs the risk rules and records them; blocking findings leave the release at the check
    /// (see [`crate::check::blocking`]).
    pub fn check(&self, inputs: CheckInputs<'_>, by: &str, now: u64) -> Result<ReleaseRecord, ReleaseError> {
        let mut next = self.preparing("run the check", now)?;
        if self.has(Stage::Diff) {
            return Err(ReleaseError::OutOfOrder {
                action: "run the check",
                reason: "the diff was made; start a new release to check again".to_owned(),
            });
        }
        let findings = run_check(&self.previous, &self.next, &self.check_config, inputs);
        let blocked = blocking(&findings);
        let warnings = findings.len() - blocked.len();
        let result = if blocked.is_empty() {
            format!("passed: {warnings} warning(s)")
        } else {
            format!("blocked: {} blocking, {warnings} warning(s)", blocked.len())
        };
        next.findings = findings;
        next.push(Stage::Check, by, self.last_ended_at(), Some(now), result);
        Ok(next)
    }

    /// Replaces the check's severities (before the diff); run the check again after.
    pub fn with_check_config(&self, config: CheckConfig, now: u64) -> Result<ReleaseRecord, ReleaseError> {
        let mut next = self.preparing("change the check config", now)?;
        config.check()?;
        if self.has(Stage::Diff) {
            return Err(ReleaseError::OutOfOrder {
                action: "change the check config",
                reason: "the diff was made".into(),
            });
        }
        next.check_config = config;
        Ok(next)
    }

    /// Computes and records the diff with projected impact.
    pub fn diff(
        &self,
        baseline: &Baseline,
        costs: &CostModel,
        by: &str,
        now: u64,
    ) -> Result<ReleaseRecord, ReleaseError> {
        let mut next = self.preparing("make the diff", now)?;
        if !check_passed(self) {
            let reason = if self.has(Stage::Check) {
                format!("the check blocks it: {}", blocking(&self.findings).join("; "))
            } else {
                "run the check first".to_owned()
            };
            return Err(ReleaseError::OutOfOrder { action: "make the diff", reason });
        }
        if !self.approvals.is_empty() {
            return Err(ReleaseError::OutOfOrder {
                action: "make the diff",
                reason: "a review has approved it".into(),
            });
        }
        let made = diff(&self.previous, &self.next, baseline, costs);
        let result = format!(
            "{} event(s) change; kept events/day {:+.1}%, bytes/day {:+.1}%",
            made.events.len(),
            made.events_change() * 100.0,
            made.bytes_change() * 100.0
        );
        next.diff = Some(made);
        next.push(Stage::Diff, by, self.last_ended_at(), Some(now), result);
        Ok(next)
    }

    /// Records `role`'s approval: `signature` by `public_key` over
    /// [`ReleaseRecord::approval_message`]. Refused before the diff, for a role already
    /// approved, for a key that approved the other role, or for a signature that does not
    /// verify.
    pub fn approve(
        &self,
        role: Role,
        public_key: &[u8; 32],
        signature: &[u8; 64],
        by: &str,
        comment: &str,
        now: u64,
    ) -> Result<ReleaseRecord, ReleaseError> {
        let mut next = self.preparing("approve", now)?;
        if !self.has(Stage::Diff) {
            return Err(ReleaseError::OutOfOrder { action: "approve", reason: "make the diff first".into() });
        }
        if let Some(done) = self.approval(role) {
            return Err(ReleaseError::Approval(format!(
                "the {} review was already approved by {} (key {})",
                role.as_str(),
                done.by,
                done.key_id
            )));
        }
        let key_id = KeyId::of(public_key).to_string();
        if let Some(other) = self.approvals.iter().find(|approval| approval.key_id == key_id) {
            return Err(ReleaseError::Approval(format!(
                "key {key_id} already approved the {} review; each role needs its own key",
                other.role.as_str()
            )));
        }
        let key = VerifyingKey::from_bytes(public_key)
            .map_err(|_| ReleaseError::Approval(format!("key {key_id} is not a valid Ed25519 public key")))?;
        key.verify_strict(&self.approval_message(role), &Signature::from_bytes(signature)).map_err(|_| {
            ReleaseError::Approval(format!("the signature of key {key_id} does not verify over this release"))
        })?;
        let diff_ended = self.stages.iter().rev().find(|entry| entry.stage == Stage::Diff).and_then(|e| e.ended_at);
        next.approvals.push(Approval {
            role,
            key_id: key_id.clone(),
            public_key: to_hex(public_key),
            by: by.to_owned(),
            at: now,
            signature: to_hex(signature),
            comment: comment.to_owned(),
        });
        let result = format!("approved with {} key {key_id}", role.as_str());
        next.push(role.stage(), by, diff_ended.unwrap_or(now), Some(now), result);
        Ok(next)
    }

    /// Sets (or moves) the start of the rollout; a time in the past means now.
    pub fn schedule(&self, at: u64, by: &str, now: u64) -> Result<ReleaseRecord, ReleaseError> {
        let mut next = self.preparing("schedule", now)?;
        if let Some(role) = [Role::Business, Role::Technical].into_iter().find(|role| self.approval(*role).is_none()) {
            return Err(ReleaseError::OutOfOrder {
                action: "schedule",
                reason: format!("the {} review has not approved it", role.as_str()),
            });
        }
        let at = at.max(now);
        next.scheduled_at = Some(at);
        next.stages.retain(|entry| entry.stage != Stage::Schedule);
        let result = format!("rollout starts at {}", civil::UtcTime(at));
        next.push(Stage::Schedule, by, self.last_ended_at(), None, result);
        Ok(next)
    }

    /// When the first rollout step started, if it has.
    pub fn rollout_started_at(&self) -> Option<u64> {
        self.stages
            .iter()
            .find(|entry| matches!(entry.stage, Stage::Rollout | Stage::Watch))
            .map(|entry| entry.started_at)
    }

    /// Evaluates the watch on the running step without moving forward: halts and rolls back on
    /// a breach, otherwise changes nothing.
    pub fn watch<'r>(
        &self,
        reports: impl IntoIterator<Item = &'r DropReport>,
        by: &str,
        now: u64,
    ) -> Result<(ReleaseRecord, Advance, Option<WatchReport>), ReleaseError> {
        self.step(reports, by, now, false)
    }

    /// Opens the rollout once its start time has come; then evaluates the watch on the running
    /// step and moves to the next step (or confirms) when it has run its minimum duration
    /// watched clean, or halts and rolls back on a breach.
    pub fn advance<'r>(
        &self,
        reports: impl IntoIterator<Item = &'r DropReport>,
        by: &str,
        now: u64,
    ) -> Result<(ReleaseRecord, Advance, Option<WatchReport>), ReleaseError> {
        self.step(reports, by, now, true)
    }

    fn step<'r>(
        &self,
        reports: impl IntoIterator<Item = &'r DropReport>,
        by: &str,
        now: u64,
        forward: bool,
    ) -> Result<(ReleaseRecord, Advance, Option<WatchReport>), ReleaseError> {
        let action = if forward { "advance" } else { "watch" };
        let step = match &self.state {
            ReleaseState::Preparing => {
                return self.open(by, now, forward).map(|(record, advance)| (record, advance, None))
            }
            ReleaseState::RollingOut { step } => *step,
            ReleaseState::Confirmed => return Err(ReleaseError::Finished("confirmed".to_owned())),
            ReleaseState::RolledBack { .. } => return Err(ReleaseError::Finished("rolled back".to_owned())),
        };
        let running_started = self.running().map_or(now, |entry| entry.started_at);
        if now < running_started {
            return Err(ReleaseError::OutOfOrder {
                action,
                reason: format!("the time given ({now}) is before the running step started ({running_started})"),
            });
        }
        let rollout_started = self.rollout_started_at().unwrap_or(running_started);
        let report = evaluate(self, reports, rollout_started, running_started, now);
        let mut next = self.clone();
        let Some(index) = next.stages.iter().rposition(|entry| entry.ended_at.is_none()) else {
            return Err(ReleaseError::OutOfOrder { action, reason: "no step is running (record damaged)".into() });
        };
        match report.verdict {
            Verdict::Breach => {
                let reason = report.breaches.join("; ");
                next.stages[index].ended_at = Some(now);
                next.stages[index].result = format!("halted: {reason}");
                next.push(
                    Stage::Rollback,
                    by,
                    now,
                    Some(now),
                    format!(
                        "version {} (the content of {}) served to every device",
                        self.rollback_version, self.from_version
                    ),
                );
                next.state = ReleaseState::RolledBack { reason: reason.clone() };
                Ok((next, Advance::RolledBack(reason), Some(report)))
            }
            Verdict::NotEnough => {
                let why = format!(
                    "not enough reports yet ({} new, {} previous; {} each needed)",
                    report.new.reports, report.old.reports, self.guards.min_reports
                );
                Ok((next, Advance::Waiting(why), Some(report)))
            }
            Verdict::Clean => {
                let min = self.rollout.steps[step].min_seconds;
                let until = running_started.saturating_add(min);
                if !forward || now < until {
                    let why = format!("watched clean; the step runs until {until}");
                    return Ok((next, Advance::Waiting(why), Some(report)));
                }
                next.stages[index].ended_at = Some(now);
                next.stages[index].result = format!("watched clean: {}", report.summary());
                let Some(following) = self.rollout.steps.get(step + 1) else {
                    next.push(Stage::Confirm, by, now, Some(now), "watched clean for its whole duration".into());
                    next.state = ReleaseState::Confirmed;
                    return Ok((next, Advance::Confirmed, Some(report)));
                };
                next.open_step(step + 1, by, now, following.share_basis_points);
                Ok((next, Advance::NextStep(following.share_basis_points), Some(report)))
            }
        }
    }

    fn open(&self, by: &str, now: u64, forward: bool) -> Result<(ReleaseRecord, Advance), ReleaseError> {
        let Some(at) = self.scheduled_at else {
            let waiting = next_preparing_stage(self).map_or("schedule", Stage::label);
            return Err(ReleaseError::OutOfOrder { action: "advance", reason: format!("awaiting {waiting}") });
        };
        if now < at || !forward {
            return Ok((self.clone(), Advance::Waiting(format!("the rollout starts at {}", civil::UtcTime(at)))));
        }
        let mut next = self.clone();
        if let Some(entry) = next.stages.iter_mut().find(|entry| entry.stage == Stage::Schedule) {
            entry.ended_at = Some(at);
        }
        let share = self.rollout.steps[0].share_basis_points;
        // The server offers the plan from the start time on, whenever this runs.
        next.open_step(0, by, at, share);
        Ok((next, Advance::Started(share)))
    }

    fn open_step(&mut self, step: usize, by: &str, at: u64, share: u16) {
        let last = step + 1 == self.rollout.steps.len();
        let stage = if last { Stage::Watch } else { Stage::Rollout };
        let result = format!("offered to {} of devices", percent(share));
        self.stages.push(StageEntry {
            stage,
            share_basis_points: Some(share),
            by: by.to_owned(),
            started_at: at,
            ended_at: None,
            result,
        });
        self.state = ReleaseState::RollingOut { step };
    }

    /// What the server offers at `now`: see [`Offer`].
    pub fn offer(&self, now: u64) -> Offer {
        match &self.state {
            ReleaseState::Preparing => match self.scheduled_at {
                Some(at) if at <= now => Offer::Share(self.rollout.steps[0].share_basis_points),
                _ => Offer::Previous,
            },
            ReleaseState::RollingOut { step } => {
                Offer::Share(self.rollout.steps.get(*step).map_or(BUCKETS, |step| step.share_basis_points))
            }
            ReleaseState::Confirmed => Offer::Share(BUCKETS),
            ReleaseState::RolledBack { .. } => Offer::Rollback,
        }
    }
}

/// Which plan a release has the server offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offer {
    /// The previous plan to everyone (not started).
    Previous,
    /// The new plan to buckets in this share (basis points; 10000 is everyone), the previous
    /// plan to the others.
    Share(u16),
    /// The rollback envelope (previous content, newer version) to everyone.
    Rollback,
}
