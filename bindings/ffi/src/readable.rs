//! Values for people: [`Gate::explain`] (an event's decision and the values behind it) and
//! [`Gate::explain_text`] (the same as readable lines); a report's table is
//! `TakenReport::table`, filled by `take_report`.
//!
//! Each is one call into the core, which owns the rules (`Engine::explain` runs the decision's
//! own rule chain) and the one formatter (`Display` of `Explanation` and `DropReport`), so the
//! three languages print the same words. The texts are made here rather than by functions
//! taking the records back: lifting an `Explanation` or a `DropReport` from foreign code would
//! add their readers to the library (about 7 KB, size-optimised arm64) for no other use.
//! Nothing here counts or decides on the hot path.

use trackgate_core::Explanation;

use crate::gate::Gate;

#[uniffi::export]
impl Gate {
    /// Why `decide(name, size_bytes)` would answer what it does now, with the active plan and
    /// unit: the decision, the plan version, the rule that refuses the event, the size cap, the
    /// sampling rate and this unit's sampling value, the rate limit and the tokens left.
    /// Counts nothing and takes no rate-limit token. For debugging, not for every event.
    pub fn explain(&self, name: String, size_bytes: u64) -> Explanation {
        self.engine().explain(&name, size_bytes)
    }

    /// `explain` as readable lines (the text `trackgate explain` prints).
    pub fn explain_text(&self, name: String, size_bytes: u64) -> String {
        self.engine().explain(&name, size_bytes).to_string()
    }
}
