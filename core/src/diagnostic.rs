//! Problems found in a plan, each with the place it stands: JSON path, line:column, byte offset.

use std::fmt;

/// How serious a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// The plan is refused.
    Error,
    /// The plan is accepted, but probably not what was meant.
    Warning,
}

/// One problem in a plan.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// JSONPath-style location, e.g. `$.events["checkout.done"].sample`.
    pub path: String,
    /// 1-based line in the JSON source; 0 when the plan did not come from JSON text.
    pub line: u32,
    /// 1-based column (in characters); 0 when the plan did not come from JSON text.
    pub column: u32,
    /// Byte offset in the source, when the plan came from JSON text.
    pub offset: Option<usize>,
    /// What is wrong, in words.
    pub message: String,
}

impl Diagnostic {
    /// A problem at a path, with no source position yet.
    pub fn new(severity: Severity, path: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic { severity, path: path.into(), line: 0, column: 0, offset: None, message: message.into() }
    }

    /// Whether this problem refuses the plan.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let severity = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        if self.line > 0 {
            write!(formatter, "{}:{}: ", self.line, self.column)?;
        }
        write!(formatter, "{severity}: {}: {}", self.path, self.message)
    }
}
