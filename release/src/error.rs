//! Why a release operation or record was refused: one variant per cause, each naming the
//! place or the stage, so the CLI prints it as is.

/// A refused record or operation. The record it was applied to is unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReleaseError {
    /// The record was written by a newer trackgate.
    #[error(
        "the release record is in format {found}, newer than this build reads ({supported}); upgrade trackgate \
         (nothing was changed or published)"
    )]
    NewerFormat {
        /// The `format` found.
        found: String,
        /// The format this build reads.
        supported: &'static str,
    },
    /// The `format` field is missing or not a release record's.
    #[error("not a release record: `format` is {found}, expected \"{supported}\"")]
    NotARecord {
        /// What `format` held (JSON text), or `missing`.
        found: String,
        /// The format this build reads.
        supported: &'static str,
    },
    /// The JSON could not be read into a record.
    #[error("invalid release record at line {line}, column {column}: {message}")]
    Json {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What serde said, naming the field.
        message: String,
    },
    /// The record's integrity digest does not match its contents: edited outside `trackgate release`.
    #[error(
        "the release record was changed outside `trackgate release` (integrity digest {found} does not match its \
         contents, {expected}); restore it from the last good copy or start a new release"
    )]
    Edited {
        /// The digest of the contents.
        expected: String,
        /// The digest written in the record.
        found: String,
    },
    /// A plan in the record does not match its digest.
    #[error("the {which} plan in the release record does not match its digest {digest}; the record was edited")]
    PlanEdited {
        /// `next` or `previous`.
        which: &'static str,
        /// The recorded digest.
        digest: String,
    },
    /// A plan breaks the plan rules.
    #[error("the {which} plan is invalid: {}", problems.join("; "))]
    InvalidPlan {
        /// `next` or `previous`.
        which: &'static str,
        /// Every error, with its JSON path.
        problems: Vec<String>,
    },
    /// The two plans govern different scopes.
    #[error("the plans govern different scopes: previous {previous}, next {next}")]
    ScopeMismatch {
        /// `app/env` of the previous plan.
        previous: String,
        /// `app/env` of the next plan.
        next: String,
    },
    /// The next version is not above the previous one (devices would refuse it).
    #[error("the next plan's version {next} is not above the previous plan's {previous}")]
    VersionNotNewer {
        /// Previous version.
        previous: u64,
        /// Next version.
        next: u64,
    },
    /// A configuration value is out of range.
    #[error("{field}: {problem}")]
    Config {
        /// The field, as a JSON path.
        field: String,
        /// What is wrong.
        problem: String,
    },
    /// The operation belongs to a later stage than the record has reached, or repeats a closed one.
    #[error("cannot {action} now: {reason}")]
    OutOfOrder {
        /// What was attempted.
        action: &'static str,
        /// What has to happen first, or why it is closed.
        reason: String,
    },
    /// The check found blocking risks.
    #[error("the check blocks the release: {}", findings.join("; "))]
    Blocked {
        /// The blocking findings, one line each.
        findings: Vec<String>,
    },
    /// An approval does not verify, or repeats a role or key.
    #[error("approval refused: {0}")]
    Approval(String),
    /// The release is over (confirmed or rolled back).
    #[error("the release is {0}; nothing more can change")]
    Finished(String),
}
