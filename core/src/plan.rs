//! The governance plan: which events may leave the device and under what rules.
//!
//! These types are the one definition of the plan format (`docs/plan.md`). They are read from
//! JSON by [`crate::parse_plan`] (which reports every problem with its place), encoded compactly
//! with serde for signed delivery, and turned into a [`crate::CompiledPlan`] for the hot path.
//! [`Plan::check`] holds the semantic rules, so a plan that arrives as JSON or in binary form is
//! judged by the same code.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::diagnostic::{Diagnostic, Severity};
use crate::name::{check_event_name, NameProblem};
use crate::sampling::PARTS_PER_MILLION;

/// The plan schema version this build reads and writes.
pub const PLAN_SCHEMA_VERSION: u32 = 1;

/// The most events a plan may hold (twice the 500,000-event scale plans are tested at).
/// JSON readers stop at the first event beyond it; `Plan::check` refuses larger plans from any
/// source.
pub const MAX_EVENTS: usize = 1_000_000;

/// The largest plan JSON text accepted, in bytes (128 MiB): room for 500,000 events of about
/// 260 bytes each (name, rules, owner and a description). Readers refuse a larger file from its
/// size, before reading it (`docs/plan.md`, size limits).
pub const MAX_PLAN_BYTES: usize = 128 * 1024 * 1024;

/// The longest salt accepted, in bytes.
pub const MAX_SALT_BYTES: usize = 256;

/// A governance plan, as authored in JSON and delivered signed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// Plan format version; must be 1.
    pub schema: u32,
    /// The application this plan governs (letters, digits, `_ . - :`).
    pub app: String,
    /// The environment, e.g. `prod` or `staging` (same alphabet as `app`).
    pub env: String,
    /// Monotonic plan version; delivery refuses to go back to a lower one.
    pub version: u64,
    /// Kill switch: `false` drops every event with reason `Disabled`.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// Salt for sampling decisions; events may override it.
    #[serde(default)]
    pub sampling_salt: String,
    /// What happens to events that are not in `events`.
    #[serde(default)]
    pub unregistered: UnregisteredPolicy,
    /// Drop every event whose priority is below this level; P0 is never shed.
    #[serde(default)]
    pub shed_below: Option<Priority>,
    /// Evaluate and count, but keep everything.
    #[serde(default)]
    pub shadow: bool,
    /// Values that apply to events which do not set their own.
    #[serde(default)]
    pub defaults: Defaults,
    /// The allowlist: event name to its rules.
    pub events: BTreeMap<String, EventRule>,
}

fn default_true() -> bool {
    true
}

/// Plan-wide defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Defaults {
    /// Largest event payload, in bytes, for events without their own `max_bytes`.
    #[serde(default)]
    pub max_bytes: Option<u32>,
}

/// The rules of one registered event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct EventRule {
    /// `active` events may be sent; `retired` ones are dropped.
    #[serde(default)]
    pub status: EventStatus,
    /// Business priority, P0 (highest, never shed) to P3.
    pub priority: Priority,
    /// Share of units whose events are kept, in [0, 1] with at most 6 decimals.
    #[serde(default)]
    pub sample: SampleRate,
    /// Sampling salt for this event instead of the plan's `sampling_salt`.
    #[serde(default)]
    pub salt: Option<String>,
    /// Per-device token bucket.
    #[serde(default)]
    pub rate_limit: Option<RateLimit>,
    /// Largest payload, in bytes.
    #[serde(default)]
    pub max_bytes: Option<u32>,
    /// Team or person who owns the event (tooling only).
    #[serde(default)]
    pub owner: Option<String>,
    /// What the event means (tooling only).
    #[serde(default)]
    pub description: Option<String>,
}

/// Whether an event may still be sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum EventStatus {
    /// The event may be sent.
    #[default]
    Active,
    /// The event is no longer wanted; every occurrence is dropped.
    Retired,
}

/// Business priority; P0 is the most important.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum Priority {
    /// Critical (revenue, legal, safety): never shed.
    P0,
    /// Important.
    P1,
    /// Normal.
    P2,
    /// Low value: shed first.
    P3,
}

impl Priority {
    /// All priorities, most important first.
    pub const ALL: [Priority; 4] = [Priority::P0, Priority::P1, Priority::P2, Priority::P3];

    /// `"P0"`..`"P3"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::P0 => "P0",
            Priority::P1 => "P1",
            Priority::P2 => "P2",
            Priority::P3 => "P3",
        }
    }

    /// Parses `"P0"`..`"P3"`.
    pub fn parse(text: &str) -> Option<Priority> {
        Priority::ALL.into_iter().find(|priority| priority.as_str() == text)
    }

    /// Whether a plan with `shed_below` drops events of this priority.
    pub fn is_shed_by(self, shed_below: Option<Priority>) -> bool {
        match shed_below {
            Some(level) => self != Priority::P0 && self > level,
            None => false,
        }
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// What the engine does with names that are valid but not in the plan.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum UnregisteredPolicy {
    /// Drop them with reason `Unregistered` (the allowlist is enforced).
    #[default]
    Drop,
    /// Keep them (the allowlist only reports).
    Keep,
}

/// A per-device token bucket: `per_second` tokens flow in, at most `burst` are stored.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    /// Sustained rate, events per second (may be fractional, e.g. 0.1 for one per 10 s).
    pub per_second: f64,
    /// Events allowed at once after a quiet period.
    pub burst: u32,
}

/// The most events per second a rate limit may allow.
pub const MAX_RATE_PER_SECOND: f64 = 1_000_000_000.0;

/// A sampling rate held exactly as parts per million.
///
/// In JSON it is a number in [0, 1] with at most six decimals, read from its decimal text and
/// never through a float. In binary encodings it is the integer parts per million.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SampleRate(u32);

impl SampleRate {
    /// Keep every unit.
    pub const ALWAYS: SampleRate = SampleRate(PARTS_PER_MILLION);
    /// Keep no unit.
    pub const NEVER: SampleRate = SampleRate(0);

    /// A rate from parts per million, or `None` above one million.
    pub fn from_parts_per_million(parts_per_million: u32) -> Option<SampleRate> {
        (parts_per_million <= PARTS_PER_MILLION).then_some(SampleRate(parts_per_million))
    }

    /// The rate in parts per million, 0..=1_000_000.
    pub fn parts_per_million(self) -> u32 {
        self.0
    }

    /// Whether every unit is kept.
    pub fn is_always(self) -> bool {
        self.0 >= PARTS_PER_MILLION
    }

    /// Parses the decimal text of a JSON number exactly.
    pub fn parse_decimal(text: &str) -> Result<SampleRate, RateProblem> {
        parse_decimal_parts_per_million(text).map(SampleRate)
    }
}

impl Default for SampleRate {
    fn default() -> Self {
        SampleRate::ALWAYS
    }
}

impl fmt::Display for SampleRate {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let whole = self.0 / PARTS_PER_MILLION;
        let fraction = self.0 % PARTS_PER_MILLION;
        if fraction == 0 {
            return write!(formatter, "{whole}");
        }
        let digits = format!("{fraction:06}");
        write!(formatter, "{whole}.{}", digits.trim_end_matches('0'))
    }
}

impl Serialize for SampleRate {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            // Shortest round-trip float text of a six-decimal value is that decimal itself.
            serializer.serialize_f64(f64::from(self.0) / f64::from(PARTS_PER_MILLION))
        } else {
            serializer.serialize_u32(self.0)
        }
    }
}

impl<'de> Deserialize<'de> for SampleRate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        if deserializer.is_human_readable() {
            let value = f64::deserialize(deserializer)?;
            let text = format!("{value}");
            SampleRate::parse_decimal(&text).map_err(D::Error::custom)
        } else {
            let parts = u32::deserialize(deserializer)?;
            SampleRate::from_parts_per_million(parts)
                .ok_or_else(|| D::Error::custom(format!("sample rate {parts} ppm is above 1000000")))
        }
    }
}

#[cfg(feature = "schema")]
impl schemars::JsonSchema for SampleRate {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "SampleRate".into()
    }

    fn json_schema(_generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "Share of units kept, in [0, 1] with at most 6 decimals.",
            "type": "number",
            "minimum": 0,
            "maximum": 1,
            "multipleOf": 0.000001
        })
    }
}

/// Why a number is not a valid sampling rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RateProblem {
    /// Below 0 or above 1.
    #[error("sampling rate must be between 0 and 1")]
    OutOfRange,
    /// Finer than parts per million.
    #[error("sampling rate has more than 6 decimals")]
    TooPrecise,
    /// Not the text of a JSON number.
    #[error("sampling rate is not a decimal number")]
    NotANumber,
}

fn parse_decimal_parts_per_million(text: &str) -> Result<u32, RateProblem> {
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(index) => {
            let exponent: i64 = unsigned[index + 1..].parse().map_err(|_| RateProblem::NotANumber)?;
            (&unsigned[..index], exponent)
        }
        None => (unsigned, 0),
    };
    let (integer, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if integer.is_empty() || !integer.bytes().chain(fraction.bytes()).all(|byte| byte.is_ascii_digit()) {
        return Err(RateProblem::NotANumber);
    }
    let digits = format!("{integer}{fraction}");
    let digits = digits.trim_start_matches('0');
    if digits.is_empty() {
        return Ok(0);
    }
    if negative {
        return Err(RateProblem::OutOfRange);
    }
    // value = digits * 10^(exponent - fraction.len()); parts per million shift it by six more.
    let trimmed = digits.trim_end_matches('0');
    let scale = exponent
        .saturating_sub(fraction.len() as i64)
        .saturating_add(6)
        .saturating_add((digits.len() - trimmed.len()) as i64);
    if scale < 0 {
        return Err(RateProblem::TooPrecise);
    }
    // trimmed * 10^scale must not exceed 10^6, so it has at most 7 digits in all.
    if trimmed.len() as i64 + scale > 7 {
        return Err(RateProblem::OutOfRange);
    }
    let parts = trimmed.parse::<u64>().map_err(|_| RateProblem::NotANumber)? * 10u64.pow(scale as u32);
    u32::try_from(parts).ok().filter(|&parts| parts <= PARTS_PER_MILLION).ok_or(RateProblem::OutOfRange)
}

/// Checks an `app` or `env` identifier: the event-name alphabet, 1 to 64 bytes.
fn check_identifier(text: &str) -> Result<(), String> {
    if text.len() > 64 {
        return Err(format!("is {} bytes long; at most 64 are allowed", text.len()));
    }
    check_event_name(text).map_err(|problem| match problem {
        NameProblem::Empty => "is empty".to_owned(),
        NameProblem::TooLong { length } => format!("is {length} bytes long; at most 64 are allowed"),
        NameProblem::BadCharacter { offset } => {
            format!("has a character other than ASCII letters, digits, '_', '.', '-', ':' at byte {offset}")
        }
    })
}

/// JSON path of an event: `$.events["name"]`, with quotes, backslashes and control characters escaped.
pub fn event_path(name: &str) -> String {
    let mut path = String::from("$.events[\"");
    for character in name.chars() {
        match character {
            '"' => path.push_str("\\\""),
            '\\' => path.push_str("\\\\"),
            control if control.is_control() => path.push_str(&format!("\\u{:04x}", control as u32)),
            other => path.push(other),
        }
    }
    path.push_str("\"]");
    path
}

impl Plan {
    /// The semantic rules every plan must meet, whatever encoding it came in.
    ///
    /// Returns every problem found (errors and warnings), each with its JSON path; positions are
    /// filled in by [`crate::parse_plan`] when the plan came from JSON text.
    pub fn check(&self) -> Vec<Diagnostic> {
        let mut found = Vec::new();
        let mut error = |path: String, message: String| found.push(Diagnostic::new(Severity::Error, path, message));
        if self.schema != PLAN_SCHEMA_VERSION {
            error(
                "$.schema".into(),
                format!("unsupported plan schema {}; this build reads schema {PLAN_SCHEMA_VERSION}", self.schema),
            );
        }
        if let Err(problem) = check_identifier(&self.app) {
            error("$.app".into(), format!("app {problem}"));
        }
        if let Err(problem) = check_identifier(&self.env) {
            error("$.env".into(), format!("env {problem}"));
        }
        if self.sampling_salt.len() > MAX_SALT_BYTES {
            error("$.sampling_salt".into(), format!("salt is longer than {MAX_SALT_BYTES} bytes"));
        }
        if self.defaults.max_bytes == Some(0) {
            error("$.defaults.max_bytes".into(), "max_bytes must be at least 1".into());
        }
        if self.events.len() > MAX_EVENTS {
            error("$.events".into(), format!("{} events; at most {MAX_EVENTS} are allowed", self.events.len()));
        }
        for (name, rule) in &self.events {
            rule.check(name, &mut found);
        }
        found
    }

    /// Whether [`Plan::check`] finds no error (warnings allowed).
    pub fn is_valid(&self) -> bool {
        self.check().iter().all(|diagnostic| diagnostic.severity != Severity::Error)
    }
}

impl EventRule {
    pub(crate) fn check(&self, name: &str, found: &mut Vec<Diagnostic>) {
        // Paths are built only for problems: most events have none, and plans hold many events.
        let mut add = |severity, suffix: &str, message: String| {
            found.push(Diagnostic::new(severity, format!("{}{suffix}", event_path(name)), message));
        };
        if let Err(problem) = check_event_name(name) {
            add(Severity::Error, "", format!("{problem}"));
        }
        if let Some(salt) = &self.salt {
            if salt.len() > MAX_SALT_BYTES {
                add(Severity::Error, ".salt", format!("salt is longer than {MAX_SALT_BYTES} bytes"));
            }
        }
        if self.max_bytes == Some(0) {
            add(Severity::Error, ".max_bytes", "max_bytes must be at least 1".into());
        }
        if let Some(limit) = self.rate_limit {
            if !(limit.per_second.is_finite() && limit.per_second > 0.0 && limit.per_second <= MAX_RATE_PER_SECOND) {
                add(
                    Severity::Error,
                    ".rate_limit.per_second",
                    format!("per_second must be above 0 and at most {MAX_RATE_PER_SECOND}"),
                );
            }
            if limit.burst == 0 {
                add(Severity::Error, ".rate_limit.burst", "burst must be at least 1".into());
            }
        }
        if self.priority == Priority::P0 && !self.sample.is_always() && self.status == EventStatus::Active {
            add(
                Severity::Warning,
                ".sample",
                format!("P0 event is sampled at {}; P0 events are usually kept whole", self.sample),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ppm(text: &str) -> Result<u32, RateProblem> {
        SampleRate::parse_decimal(text).map(SampleRate::parts_per_million)
    }

    #[test]
    fn rates_parse_exactly() {
        assert_eq!(ppm("1"), Ok(1_000_000));
        assert_eq!(ppm("1.0"), Ok(1_000_000));
        assert_eq!(ppm("0"), Ok(0));
        assert_eq!(ppm("-0"), Ok(0));
        assert_eq!(ppm("0.1"), Ok(100_000));
        assert_eq!(ppm("0.000001"), Ok(1));
        assert_eq!(ppm("0.999999"), Ok(999_999));
        assert_eq!(ppm("0.0000010"), Ok(1));
        assert_eq!(ppm("1e-6"), Ok(1));
        assert_eq!(ppm("25E-2"), Ok(250_000));
        assert_eq!(ppm("0.00000001e2"), Ok(1));
        assert_eq!(ppm("0.0000001"), Err(RateProblem::TooPrecise));
        assert_eq!(ppm("1.000001"), Err(RateProblem::OutOfRange));
        assert_eq!(ppm("2"), Err(RateProblem::OutOfRange));
        assert_eq!(ppm("1e300"), Err(RateProblem::OutOfRange));
        assert_eq!(ppm("-0.5"), Err(RateProblem::OutOfRange));
        assert_eq!(ppm("abc"), Err(RateProblem::NotANumber));
    }

    #[test]
    fn rates_display_as_short_decimals() {
        assert_eq!(SampleRate(1_000_000).to_string(), "1");
        assert_eq!(SampleRate(100_000).to_string(), "0.1");
        assert_eq!(SampleRate(1).to_string(), "0.000001");
        assert_eq!(SampleRate(0).to_string(), "0");
    }

    #[test]
    fn shedding_never_touches_p0() {
        assert!(!Priority::P0.is_shed_by(Some(Priority::P0)));
        assert!(Priority::P1.is_shed_by(Some(Priority::P0)));
        assert!(Priority::P3.is_shed_by(Some(Priority::P2)));
        assert!(!Priority::P2.is_shed_by(Some(Priority::P2)));
        assert!(!Priority::P3.is_shed_by(None));
    }
}
