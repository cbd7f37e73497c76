//! The staged rollout: steps with shares and minimum durations, which device buckets a share
//! holds, and the bucket header as hostile input.
//!
//! A device computes its bucket, `0..BUCKETS`, on the device from its install id and its app's
//! rollout salt (`trackgate_delivery::rollout_bucket`) and sends only the bucket. A release has
//! an `offset` that rotates which buckets come first, so each release starts on a different 1 %
//! of devices although a device's bucket stays the same. Bucket `b` is in a share of `s` basis
//! points when `(b - offset) mod BUCKETS < s`: shares only grow, so a device once offered the
//! new plan stays offered at every later step.

use serde::{Deserialize, Serialize};

use crate::error::ReleaseError;

/// Number of buckets: one per basis point.
pub const BUCKETS: u16 = 10_000;

/// One step of a rollout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RolloutStep {
    /// Share of buckets offered the new plan, in basis points (1 % = 100).
    pub share_basis_points: u16,
    /// The step lasts at least this long, watched clean, before the next one (seconds).
    pub min_seconds: u64,
}

/// How a release is rolled out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RolloutPlan {
    /// The steps; the last one is 100 % (the watch).
    pub steps: Vec<RolloutStep>,
    /// Rotation of the buckets for this release, `0..BUCKETS`.
    pub offset: u16,
}

const HOUR: u64 = 3600;

impl RolloutPlan {
    /// The default steps, 1 % (1 h) → 10 % (2 h) → 50 % (4 h) → 100 % (24 h watch).
    pub fn default_steps() -> Vec<RolloutStep> {
        [(100, HOUR), (1_000, 2 * HOUR), (5_000, 4 * HOUR), (BUCKETS, 24 * HOUR)]
            .into_iter()
            .map(|(share_basis_points, min_seconds)| RolloutStep { share_basis_points, min_seconds })
            .collect()
    }

    /// Checks the steps: at least one, shares strictly rising, above 0, the last one 100 %, and
    /// the offset below [`BUCKETS`].
    pub fn check(&self) -> Result<(), ReleaseError> {
        let problem = |field: String, problem: &str| Err(ReleaseError::Config { field, problem: problem.to_owned() });
        if self.steps.is_empty() {
            return problem("$.rollout.steps".into(), "at least one step (100 %) is needed");
        }
        if self.offset >= BUCKETS {
            return problem("$.rollout.offset".into(), "must be below 10000");
        }
        let mut previous = 0;
        for (index, step) in self.steps.iter().enumerate() {
            let field = format!("$.rollout.steps[{index}].share_basis_points");
            if step.share_basis_points <= previous || step.share_basis_points > BUCKETS {
                return problem(field, "shares must rise strictly, each within 1..=10000 basis points");
            }
            previous = step.share_basis_points;
        }
        if previous != BUCKETS {
            return problem(
                format!("$.rollout.steps[{}].share_basis_points", self.steps.len() - 1),
                "the last step must offer the plan to every device (10000 basis points)",
            );
        }
        Ok(())
    }

    /// Parses steps written as `1%:1h,10%:2h,50%:4h,100%:24h` (durations in `s`, `m`, `h` or
    /// `d`; shares with up to two decimals).
    pub fn parse_steps(text: &str) -> Result<Vec<RolloutStep>, String> {
        text.split(',')
            .map(|part| {
                let (share, duration) = part
                    .trim()
                    .split_once(':')
                    .ok_or_else(|| format!("`{part}`: write each step as SHARE%:DURATION, e.g. 10%:2h"))?;
                Ok(RolloutStep { share_basis_points: parse_percent(share)?, min_seconds: parse_duration(duration)? })
            })
            .collect()
    }
}

/// `12.5%` as basis points.
fn parse_percent(text: &str) -> Result<u16, String> {
    let digits = text.trim().strip_suffix('%').ok_or_else(|| format!("`{text}`: a share ends with %"))?;
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let bad = || format!("`{text}`: a share is a percentage from 0.01% to 100% with at most two decimals");
    if whole.is_empty() || fraction.len() > 2 || !(whole.bytes().chain(fraction.bytes()).all(|b| b.is_ascii_digit())) {
        return Err(bad());
    }
    let whole: u32 = whole.parse().map_err(|_| bad())?;
    let fraction: u32 = format!("{fraction:0<2}").parse().map_err(|_| bad())?;
    let basis_points = whole.checked_mul(100).and_then(|value| value.checked_add(fraction)).ok_or_else(bad)?;
    match u16::try_from(basis_points) {
        Ok(value) if value > 0 && value <= BUCKETS => Ok(value),
        _ => Err(bad()),
    }
}

/// `90s`, `15m`, `2h`, `1d` as seconds.
pub fn parse_duration(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let bad = || format!("`{text}`: a duration is a number followed by s, m, h or d (e.g. 2h)");
    let unit = text.chars().last().ok_or_else(bad)?;
    let scale = match unit {
        's' => 1,
        'm' => 60,
        'h' => HOUR,
        'd' => 24 * HOUR,
        _ => return Err(bad()),
    };
    let number: u64 = text[..text.len() - 1].parse().map_err(|_| bad())?;
    number.checked_mul(scale).ok_or_else(bad)
}

/// Basis points as `1%`, `12.5%`.
pub fn percent(basis_points: u16) -> String {
    let (whole, fraction) = (basis_points / 100, basis_points % 100);
    match fraction {
        0 => format!("{whole}%"),
        _ if fraction % 10 == 0 => format!("{whole}.{}%", fraction / 10),
        _ => format!("{whole}.{fraction:02}%"),
    }
}

/// Whether bucket `bucket` is in a share of `share_basis_points` rotated by `offset`.
pub fn in_share(bucket: u16, offset: u16, share_basis_points: u16) -> bool {
    if share_basis_points >= BUCKETS {
        return true;
    }
    let bucket = u32::from(bucket % BUCKETS);
    let rotated = (bucket + u32::from(BUCKETS) - u32::from(offset % BUCKETS)) % u32::from(BUCKETS);
    rotated < u32::from(share_basis_points)
}

/// The bucket a `Trackgate-Rollout-Bucket` header names: 1 to 4 ASCII digits (no sign, no
/// spaces inside), below [`BUCKETS`]. Anything else, or no header, is `None`: such a device is
/// outside every partial share and keeps its current plan.
pub fn parse_bucket_header(value: Option<&[u8]>) -> Option<u16> {
    let value = value?;
    let trimmed = value.trim_ascii();
    if trimmed.is_empty() || trimmed.len() > 4 || !trimmed.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let number = trimmed.iter().fold(0u16, |total, digit| total * 10 + u16::from(digit - b'0'));
    (number < BUCKETS).then_some(number)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_grow_and_rotate() {
        assert!(in_share(0, 0, 100) && in_share(99, 0, 100) && !in_share(100, 0, 100));
        assert!(in_share(500, 500, 1) && !in_share(499, 500, 100) && in_share(9_999, 9_950, 100));
        assert!(in_share(4_321, 7, BUCKETS));
        let counted = (0..BUCKETS).filter(|bucket| in_share(*bucket, 1_234, 1_000)).count();
        assert_eq!(counted, 1_000);
    }

    #[test]
    fn bucket_headers_are_hostile_input() {
        assert_eq!(parse_bucket_header(Some(b"42")), Some(42));
        assert_eq!(parse_bucket_header(Some(b" 9999 ")), Some(9_999));
        for bad in [&b"10000"[..], b"-1", b"+5", b"1 2", b"", b"0x10", b"99999999999999999999", b"\xff"] {
            assert_eq!(parse_bucket_header(Some(bad)), None, "{bad:?}");
        }
        assert_eq!(parse_bucket_header(None), None);
    }

    #[test]
    fn steps_parse_and_check() {
        let steps = RolloutPlan::parse_steps("1%:1h, 12.5%:90m,100%:1d").unwrap();
        assert_eq!(steps[1], RolloutStep { share_basis_points: 1_250, min_seconds: 5_400 });
        assert!(RolloutPlan { steps: steps.clone(), offset: 0 }.check().is_ok());
        assert!(RolloutPlan::parse_steps("1%-1h").is_err() && RolloutPlan::parse_steps("101%:1h").is_err());
        let not_full = RolloutPlan { steps: RolloutPlan::parse_steps("1%:1h,50%:1h").unwrap(), offset: 0 };
        assert!(not_full.check().unwrap_err().to_string().contains("last step"));
        let falling = RolloutPlan { steps: RolloutPlan::parse_steps("10%:1h,1%:1h,100%:1h").unwrap(), offset: 0 };
        assert!(falling.check().unwrap_err().to_string().contains("steps[1]"));
        assert_eq!(percent(1_250), "12.5%");
        assert_eq!(percent(BUCKETS), "100%");
    }
}
