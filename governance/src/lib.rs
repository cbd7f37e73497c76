//! trackgate-governance: the governance loop as a sans-IO library.
//!
//! From what the gates counted to the next plan version:
//!
//! - [`report`]: the cost report (metrics, owner candidates with their exact plan edits); what
//!   `trackgate report` shows and writes as JSON.
//! - [`edit`]: a candidate's or change's exact plan edit ([`PlanEdit`]).
//! - [`policy`]: supervised or unsupervised, and the guardrails ([`Policy`], [`Guardrails`]).
//! - [`guardrails`]: what automatic application must never do, and registration dates.
//! - [`propose()`]: a report's candidates into a [`Proposal`] (ids, edits, savings per day,
//!   deadlines, states; auto-applied changes in unsupervised mode).
//! - [`proposal`]: the `trackgate-proposal/1` file, owner review ([`Proposal::review`]) and
//!   expiry.
//! - [`worklist`]: per-owner worklists.
//! - [`apply()`]: the next plan version with exactly the accepted and auto-applied changes.
//!
//! Sans-IO: no files, threads, clocks or printing. Callers pass texts and `now` and get data
//! and typed errors back, worded for a library and mapped once at the caller's boundary (the
//! CLI, the release pipeline). Every rule lives here once; `docs/governance.md` documents them.

#![deny(missing_docs)]

pub mod apply;
pub mod edit;
pub mod guardrails;
pub mod json;
pub mod policy;
pub mod proposal;
pub mod propose;
pub mod report;
pub mod time;
pub mod worklist;

use sha2::{Digest, Sha256};
use trackgate_core::Plan;

pub use apply::{apply, Applied, ApplyError};
pub use edit::PlanEdit;
pub use guardrails::{Block, Guardrail, Registrations};
pub use json::DocumentError;
pub use policy::{Guardrails, Mode, Policy};
pub use proposal::{Change, ChangeState, Proposal, ReviewError, Verdict, PROPOSAL_FORMAT};
pub use propose::{propose, ProposeError, ProposeInputs};
pub use time::Timestamp;
pub use worklist::{worklists, Worklists};

/// A value outside its allowed range, named by its JSON path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct FieldProblem {
    /// JSON path of the value.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl FieldProblem {
    /// A problem at `path`.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> FieldProblem {
        FieldProblem { path: path.into(), message: message.into() }
    }
}

/// The plan's digest: `sha256:` and the hex SHA-256 of its delivery payload (the postcard
/// encoding devices decode), so JSON layout does not change it and any rule change does.
pub fn plan_digest(plan: &Plan) -> String {
    let digest = Sha256::digest(trackgate_delivery::encode_plan(plan));
    let mut text = String::from("sha256:");
    for byte in digest {
        text.push_str(&format!("{byte:02x}"));
    }
    text
}

/// Reads a report written by `trackgate report --json`: its format first (a newer one is
/// refused as newer), then its fields.
pub fn parse_report(text: &str) -> Result<report::GovernanceReport, DocumentError> {
    json::check_format(text, report::REPORT_FORMAT)?;
    json::parse(text)
}

/// Reads a policy file and checks its ranges.
pub fn parse_policy(text: &str) -> Result<Policy, DocumentError> {
    let policy: Policy = json::parse(text)?;
    policy.check().map_err(|problem| DocumentError::at_path(problem.path, problem.message))?;
    Ok(policy)
}
