//! # trackgate-release
//!
//! Moves a plan version to devices through recorded stages (`docs/governance.md`, "Releases"):
//!
//! `register → check → diff → business review → technical review → schedule → staged rollout →
//! watch → confirm`.
//!
//! - [`record`]: the release record (`trackgate-release/1` JSON): both plans, every stage with
//!   who, when and how long, the approvals, the rollout and the outcome; newer formats and hand
//!   edits are refused with a clear error.
//! - [`check`]: the risk rules (block / warn, configurable) over the two plans, usage and
//!   projected volume.
//! - [`diff`]: per-event changes with projected events, bytes and cost per day, from filter
//!   stats and SDK drop reports.
//! - [`rollout`]: the steps (default 1 % → 10 % → 50 % → 100 %), which buckets are in a share,
//!   and the `Trackgate-Rollout-Bucket` header as hostile input.
//! - [`watch`]: the guard metrics comparing devices on the new version with those on the
//!   previous one, from the drop reports they upload.
//! - [`pipeline`]: the operations that move a record from stage to stage, each refused out of
//!   order.
//!
//! Sans-IO: every operation takes the time (`now`, Unix seconds) and its inputs as values and
//! returns the new record or a typed [`ReleaseError`]; `trackgate release` and `trackgate serve`
//! do the reading, writing and clock reading. A refused operation leaves the record unchanged.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod check;
pub mod diff;
mod error;
pub mod pipeline;
pub mod record;
pub mod rollout;
pub mod watch;

pub use check::{CheckConfig, CheckInputs, Finding, RiskRule, Severity};
pub use diff::{Baseline, CostModel, EventChange, PlanDiff};
pub use error::ReleaseError;
pub use pipeline::{register, Advance, Offer, RegisterOptions};
pub use record::{Approval, ReleaseRecord, ReleaseState, Role, Stage, StageEntry, RECORD_FORMAT};
pub use rollout::{in_share, parse_bucket_header, RolloutPlan, RolloutStep, BUCKETS};
pub use watch::{Cohort, GuardConfig, WatchReport};
