//! Values for people: [`Gate::explain`] (an event's decision and the values behind it) and the
//! texts of an explanation and a report ([`explanation_text`], [`report_table`]).
//!
//! Each is one call into the core, which owns the rules (`Engine::explain` runs the decision's
//! own rule chain) and the one formatter (`Display` of `Explanation` and `DropReport`), so the
//! three languages print the same words. Nothing here counts or decides on the hot path.

use trackgate_core::{DropReport, Explanation};

use crate::gate::Gate;

#[uniffi::export]
impl Gate {
    /// Why `decide(name, size_bytes)` would answer what it does now, with the active plan and
    /// unit: the decision, the plan version, the rule that refuses the event, the size cap, the
    /// sampling rate and this unit's sampling value, the rate limit and the tokens left.
    /// Counts nothing (reports are unchanged) and takes no rate-limit token. For debugging and
    /// support screens, not for every event: it allocates.
    pub fn explain(&self, name: String, size_bytes: u64) -> Explanation {
        self.engine().explain(&name, size_bytes)
    }
}

/// An explanation as a few readable lines (the same text `trackgate explain` prints).
#[uniffi::export]
pub fn explanation_text(explanation: Explanation) -> String {
    explanation.to_string()
}

/// A report as a table: the window and totals, one row per event with its kept and dropped
/// counts and drop reasons, then the unregistered names. For logs and people; upload the JSON.
#[uniffi::export]
pub fn report_table(report: DropReport) -> String {
    report.to_string()
}
