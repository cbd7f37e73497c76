//! [`Timestamp`]: a UTC instant, in JSON as RFC 3339 text (`2026-11-05T09:30:00Z`).
//!
//! The text format is `trackgate_usage::time`'s (the one home of timestamp text); this type
//! only gives it serde and day arithmetic. No clock is read here: callers pass `now`.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use trackgate_usage::time::{format_timestamp, parse_timestamp};

/// Milliseconds in a day.
pub const DAY_MS: i64 = 86_400_000;

/// A UTC instant, to the millisecond (written to the second).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    /// The instant `unix_ms` milliseconds after 1970-01-01T00:00:00Z.
    pub fn from_unix_ms(unix_ms: i64) -> Timestamp {
        Timestamp(unix_ms)
    }

    /// Milliseconds since 1970-01-01T00:00:00Z.
    pub fn unix_ms(self) -> i64 {
        self.0
    }

    /// Parses `YYYY-MM-DD[THH:MM[:SS[.fff]]][Z|±HH:MM]` (a date alone is its midnight, UTC).
    pub fn parse(text: &str) -> Option<Timestamp> {
        parse_timestamp(text).map(Timestamp)
    }

    /// This instant plus `days` days.
    pub fn plus_days(self, days: u32) -> Timestamp {
        Timestamp(self.0.saturating_add(i64::from(days) * DAY_MS))
    }

    /// Whole days from `earlier` to this instant (negative when `earlier` is later).
    pub fn days_since(self, earlier: Timestamp) -> i64 {
        (self.0 - earlier.0).div_euclid(DAY_MS)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&format_timestamp(self.0))
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Timestamp::parse(&text).ok_or_else(|| {
            serde::de::Error::custom(format!("`{text}` is not an RFC 3339 time (e.g. 2026-11-05T09:30:00Z)"))
        })
    }
}
