//! What a decision is: keep (with a sampling weight) or drop (with the reason).

use std::fmt;

/// Why an event was dropped. Rules are evaluated in the order of the variants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DropReason {
    /// The plan's kill switch is on (`enabled: false`).
    Disabled,
    /// The name breaks the naming rules.
    InvalidName,
    /// The name is valid but not in the plan, and the plan drops unregistered events.
    Unregistered,
    /// The event is retired.
    Retired,
    /// The event's priority is below the plan's `shed_below`.
    Shed,
    /// The event is larger than its `max_bytes`.
    Oversize,
    /// This unit is not in the event's sample.
    SampledOut,
    /// The event's token bucket is empty.
    RateLimited,
}

impl DropReason {
    /// Every reason, in evaluation order.
    pub const ALL: [DropReason; 8] = [
        DropReason::Disabled,
        DropReason::InvalidName,
        DropReason::Unregistered,
        DropReason::Retired,
        DropReason::Shed,
        DropReason::Oversize,
        DropReason::SampledOut,
        DropReason::RateLimited,
    ];

    /// The snake_case name used in reports and exports.
    pub fn as_str(self) -> &'static str {
        match self {
            DropReason::Disabled => "disabled",
            DropReason::InvalidName => "invalid_name",
            DropReason::Unregistered => "unregistered",
            DropReason::Retired => "retired",
            DropReason::Shed => "shed",
            DropReason::Oversize => "oversize",
            DropReason::SampledOut => "sampled_out",
            DropReason::RateLimited => "rate_limited",
        }
    }

    /// A small non-zero code (1..=8), stable across versions.
    pub fn code(self) -> u8 {
        self as u8 + 1
    }

    /// The reason with this code; `None` for 0 or unknown codes.
    pub fn from_code(code: u8) -> Option<DropReason> {
        DropReason::ALL.get(usize::from(code).wrapping_sub(1)).copied()
    }
}

impl fmt::Display for DropReason {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// The answer for one event.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Decision {
    /// Send it. `weight` is the inverse of its sampling probability (1.0 when not sampled), so
    /// the sum of weights of kept events estimates the true count.
    Keep {
        /// Inverse inclusion probability.
        weight: f64,
    },
    /// Do not send it.
    Drop {
        /// The first rule that refused it.
        reason: DropReason,
    },
}

impl Decision {
    /// Whether the event may be sent.
    pub fn is_keep(&self) -> bool {
        matches!(self, Decision::Keep { .. })
    }

    /// The drop reason, if dropped.
    pub fn drop_reason(&self) -> Option<DropReason> {
        match self {
            Decision::Keep { .. } => None,
            Decision::Drop { reason } => Some(*reason),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for reason in DropReason::ALL {
            assert_eq!(DropReason::from_code(reason.code()), Some(reason));
        }
        assert_eq!(DropReason::from_code(0), None);
        assert_eq!(DropReason::from_code(9), None);
    }
}
