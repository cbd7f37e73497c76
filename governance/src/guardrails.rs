//! The guardrails of automatic application: what an unsupervised change must never do.
//!
//! Owns the five guardrails of `docs/governance.md` and their wording. Per event:
//! never a P0 event, never one a real-time rule reads, never one read at all in the usage window,
//! never one registered less than N days ago. Per release: at most a set share of the kept
//! volume changed ([`VolumeBudget`]). Unknown facts block (an event whose usage or registration
//! date is unknown is treated as read and as new), so missing input never lets a change through.
//! Registration dates come from a registrations file ([`Registrations`]), not from the plan:
//! the plan's binary encoding is what devices decode, so it does not grow tooling-only fields.
//! Pure functions; the release pipeline's checks can call them too.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use trackgate_core::Priority;

use crate::json::{check_format, parse, DocumentError};
use crate::policy::Guardrails;
use crate::report::EventUsage;
use crate::time::Timestamp;

/// The `format` of a registrations file.
pub const REGISTERED_FORMAT: &str = "trackgate-registered/1";

/// A guardrail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Guardrail {
    /// Never touch a P0 event.
    P0,
    /// Never touch an event a real-time rule reads.
    Realtime,
    /// Never touch an event read in the usage window.
    Read,
    /// Never touch a recently registered event.
    Registered,
    /// At most a share of the kept volume changed per release.
    KeptShare,
}

/// A guardrail that holds a change back, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Block {
    /// Which guardrail.
    pub guardrail: Guardrail,
    /// The facts that tripped it.
    pub reason: String,
}

/// What the guardrails know of one event.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EventFacts {
    /// Its priority in the plan.
    pub priority: Priority,
    /// Its uses in the usage window (`None`: unknown).
    pub uses: Option<EventUsage>,
    /// The usage window, in days (for the wording).
    pub usage_days: u32,
    /// When it was registered (`None`: unknown).
    pub registered: Option<Timestamp>,
}

/// The per-event guardrails that block a change of this event at `now`, in guardrail order.
pub fn event_blocks(guardrails: &Guardrails, facts: &EventFacts, now: Timestamp) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut block = |guardrail, reason: String| blocks.push(Block { guardrail, reason });
    if guardrails.protect_p0 && facts.priority == Priority::P0 {
        block(Guardrail::P0, "a P0 event is never changed automatically".to_owned());
    }
    match facts.uses {
        Some(uses) => {
            if guardrails.protect_realtime && uses.realtime_rules > 0 {
                block(Guardrail::Realtime, format!("{} real-time rule(s) read it", uses.realtime_rules));
            }
            if guardrails.protect_read && uses.total() > 0 {
                block(
                    Guardrail::Read,
                    format!("read {} time(s) in the {}-day usage window", uses.total(), facts.usage_days),
                );
            }
        }
        None => {
            if guardrails.protect_realtime || guardrails.protect_read {
                let guardrail = if guardrails.protect_realtime { Guardrail::Realtime } else { Guardrail::Read };
                block(guardrail, "its usage is unknown (no --usage, and the report has none)".to_owned());
            }
        }
    }
    if guardrails.min_registered_days > 0 {
        match facts.registered {
            Some(registered) if now.days_since(registered) >= i64::from(guardrails.min_registered_days) => {}
            Some(registered) => block(
                Guardrail::Registered,
                format!(
                    "registered {registered}, {} day(s) ago; at least {} are required",
                    now.days_since(registered),
                    guardrails.min_registered_days
                ),
            ),
            None => block(Guardrail::Registered, "its registration date is unknown (not in --registered)".to_owned()),
        }
    }
    blocks
}

/// The share of the kept volume one release's automatic changes may touch, used up change by
/// change in the caller's order.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VolumeBudget {
    limit: f64,
    total: f64,
    used: f64,
}

impl VolumeBudget {
    /// A budget of `guardrails.max_kept_share` of `total_kept_per_day` events per day.
    pub fn new(guardrails: &Guardrails, total_kept_per_day: f64) -> VolumeBudget {
        VolumeBudget { limit: guardrails.max_kept_share * total_kept_per_day, total: total_kept_per_day, used: 0.0 }
    }

    /// Takes a change of an event keeping `kept_per_day` events per day from the budget, or
    /// says why it does not fit (the budget is then unchanged). A share of 1 always fits.
    pub fn take(&mut self, kept_per_day: f64) -> Result<(), Block> {
        let after = self.used + kept_per_day;
        if self.limit >= self.total || after <= self.limit * (1.0 + 1e-12) {
            self.used = after;
            return Ok(());
        }
        let share = |value: f64| if self.total > 0.0 { value / self.total * 100.0 } else { 100.0 };
        Err(Block {
            guardrail: Guardrail::KeptShare,
            reason: format!(
                "it keeps {:.1}% of the kept events; with the {:.1}% already changed automatically this release would change {:.1}% (limit {:.1}%)",
                share(kept_per_day),
                share(self.used),
                share(after),
                share(self.limit)
            ),
        })
    }

    /// Events per day changed so far.
    pub fn used(&self) -> f64 {
        self.used
    }
}

/// When each event was registered (`--registered FILE`): `{"format": "trackgate-registered/1",
/// "events": {"name": "2026-03-02", ...}}`, dates or RFC 3339 times.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Registrations {
    /// [`REGISTERED_FORMAT`].
    pub format: String,
    /// Registration time per event name.
    pub events: BTreeMap<String, Timestamp>,
}

impl Registrations {
    /// Parses a registrations file.
    pub fn parse(text: &str) -> Result<Registrations, DocumentError> {
        check_format(text, REGISTERED_FORMAT)?;
        parse(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(priority: Priority, uses: Option<EventUsage>, registered: Option<&str>) -> EventFacts {
        EventFacts { priority, uses, usage_days: 30, registered: registered.and_then(Timestamp::parse) }
    }

    fn guardrails_of(blocks: &[Block]) -> Vec<Guardrail> {
        blocks.iter().map(|block| block.guardrail).collect()
    }

    #[test]
    fn each_event_guardrail_blocks_and_can_be_turned_off() {
        let now = Timestamp::parse("2026-11-05T00:00:00Z").unwrap();
        let unused = Some(EventUsage::default());
        let on = Guardrails::default();
        let old = Some("2025-01-01");
        assert!(event_blocks(&on, &facts(Priority::P2, unused, old), now).is_empty());
        assert_eq!(guardrails_of(&event_blocks(&on, &facts(Priority::P0, unused, old), now)), [Guardrail::P0]);
        let realtime = Some(EventUsage { realtime_rules: 1, ..EventUsage::default() });
        assert_eq!(
            guardrails_of(&event_blocks(&on, &facts(Priority::P2, realtime, old), now)),
            [Guardrail::Realtime, Guardrail::Read]
        );
        let read = Some(EventUsage { warehouse_queries: 1, ..EventUsage::default() });
        assert_eq!(guardrails_of(&event_blocks(&on, &facts(Priority::P2, read, old), now)), [Guardrail::Read]);
        assert_eq!(guardrails_of(&event_blocks(&on, &facts(Priority::P2, None, old), now)), [Guardrail::Realtime]);
        let new = event_blocks(&on, &facts(Priority::P2, unused, Some("2026-10-10")), now);
        assert_eq!(guardrails_of(&new), [Guardrail::Registered]);
        assert_eq!(new[0].reason, "registered 2026-10-10T00:00:00Z, 26 day(s) ago; at least 30 are required");
        assert_eq!(guardrails_of(&event_blocks(&on, &facts(Priority::P2, unused, None), now)), [Guardrail::Registered]);
        // Exactly N days old is old enough.
        assert!(event_blocks(&on, &facts(Priority::P2, unused, Some("2026-10-06")), now).is_empty());
        let off = Guardrails {
            protect_p0: false,
            protect_realtime: false,
            protect_read: false,
            min_registered_days: 0,
            max_kept_share: 1.0,
        };
        assert!(event_blocks(&off, &facts(Priority::P0, realtime, None), now).is_empty());
    }

    #[test]
    fn the_volume_budget_blocks_past_its_share() {
        let mut budget = VolumeBudget::new(&Guardrails::default(), 1000.0);
        assert!(budget.take(60.0).is_ok());
        let block = budget.take(50.0).unwrap_err();
        assert_eq!(block.guardrail, Guardrail::KeptShare);
        assert_eq!(
            block.reason,
            "it keeps 5.0% of the kept events; with the 6.0% already changed automatically this release would change 11.0% (limit 10.0%)"
        );
        assert!(budget.take(40.0).is_ok());
        assert_eq!(budget.used(), 100.0);
        let mut unlimited = VolumeBudget::new(&Guardrails { max_kept_share: 1.0, ..Guardrails::default() }, 10.0);
        assert!(unlimited.take(10.0).is_ok());
    }

    #[test]
    fn registrations_are_read_with_their_format() {
        let registrations =
            Registrations::parse(r#"{"format": "trackgate-registered/1", "events": {"a.b": "2026-03-02"}}"#).unwrap();
        assert_eq!(registrations.events["a.b"], Timestamp::parse("2026-03-02").unwrap());
        let bad =
            Registrations::parse(r#"{"format": "trackgate-registered/1", "events": {"a.b": "March"}}"#).unwrap_err();
        assert_eq!(bad.path, "$.events.a.b");
    }
}
