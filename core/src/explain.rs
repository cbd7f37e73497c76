//! Why an event gets its decision: [`Explanation`], the decision plus every value the rules
//! read to reach it, and its readable text (`Display`).
//!
//! The decision comes from the same rule chain as every other decision,
//! `CompiledPlan::evaluate` (registered events) and `CompiledPlan::unmatched_rule` (other
//! names), so an explanation cannot disagree with `decide` about the rules. What it does not
//! do: count (nothing reaches a report or the unregistered table) or take a rate-limit token
//! (the bucket is only read, [`Explanation::tokens_left`]). Off the hot path: it allocates the
//! name and the salt, and reads the clock only for a rate-limited event.

use std::fmt;

use crate::compile::CompiledPlan;
use crate::fixed::short;
use crate::name::check_event_name;
use crate::plan::Priority;
use crate::rate_limit::TokenBucket;
use crate::reason::{Decision, DropReason};
use crate::sampling::{random_value_with_seed, rate_ppm_for_floor, RANDOM_VALUE_MASK};

/// An event's decision and the values that produced it, from [`crate::Engine::explain`] or
/// [`CompiledPlan::explain_for_unit`].
#[derive(Debug, Clone, PartialEq)]
pub struct Explanation {
    /// The name explained, as given.
    pub name: String,
    /// The size explained, in bytes.
    pub size_bytes: u64,
    /// What `decide` answers for this event now (in a shadow plan, a keep even when a rule
    /// refuses it).
    pub decision: Decision,
    /// The first rule that refuses the event, also in a shadow plan; `None` when kept.
    pub refused_by: Option<DropReason>,
    /// The active plan's version (0 for a fail-policy plan).
    pub plan_version: u64,
    /// Whether the plan's kill switch lets events through (`enabled`).
    pub plan_enabled: bool,
    /// Whether the plan only counts would-be drops and keeps everything.
    pub shadow: bool,
    /// Whether the name is in the plan.
    pub registered: bool,
    /// Why the name breaks the naming rules, if it does.
    pub name_problem: Option<String>,
    /// The event's priority (registered events only, as every field below).
    pub priority: Option<Priority>,
    /// The event's size cap (`max_bytes`, or the plan's default), if any.
    pub max_bytes: Option<u32>,
    /// The event's sampling rate, in parts per million (1,000,000 when not sampled).
    pub sample_rate_ppm: Option<u32>,
    /// The salt sampling hashes the unit with.
    pub sampling_salt: Option<String>,
    /// The unit's sampling value under that salt, in `[0, 2^56)` (`docs/spec-sampling.md`);
    /// `None` when explained without a unit, and then a sampled event is decided as for a unit
    /// inside its sample.
    pub unit_value: Option<u64>,
    /// The smallest sampling value kept at the rate (`2^56 - T`): the unit is in the sample
    /// when its value is at least this.
    pub keep_from: Option<u64>,
    /// The event's rate limit: tokens per second.
    pub rate_limit_per_second: Option<f64>,
    /// The event's rate limit: most tokens stored.
    pub rate_limit_burst: Option<u32>,
    /// Tokens the event's bucket holds now, as read (an explanation takes none; another
    /// thread may take one right after).
    pub tokens_left: Option<u32>,
}

impl CompiledPlan {
    /// Explains the event for one unit (`None`: without a unit, as tools that know none do),
    /// with the rate-limit buckets as they are at `now_nanos` (monotonic nanoseconds; a plan
    /// no engine decided with has full buckets). Counts nothing and takes no token.
    pub fn explain_for_unit(&self, name: &str, size_bytes: u64, unit_id: Option<&str>, now_nanos: u64) -> Explanation {
        let unit_value =
            unit_id.map(|unit_id| move |salt: usize| random_value_with_seed(unit_id, self.salt_seeds[salt]));
        self.explain(name, size_bytes, unit_value, || now_nanos)
    }

    /// The one explanation path: `unit_value` gives the unit's sampling value per salt index
    /// (the engine's cached values, or hashed here), `now` the monotonic time for the buckets.
    pub(crate) fn explain(
        &self,
        name: &str,
        size_bytes: u64,
        unit_value: Option<impl Fn(usize) -> u64>,
        now: impl FnOnce() -> u64,
    ) -> Explanation {
        let mut explanation = Explanation {
            name: name.to_owned(),
            size_bytes,
            decision: Decision::Keep { weight: 1.0 },
            refused_by: None,
            plan_version: self.version,
            plan_enabled: self.enabled,
            shadow: self.shadow,
            registered: false,
            name_problem: check_event_name(name).err().map(|problem| problem.to_string()),
            priority: None,
            max_bytes: None,
            sample_rate_ppm: None,
            sampling_salt: None,
            unit_value: None,
            keep_from: None,
            rate_limit_per_second: None,
            rate_limit_burst: None,
            tokens_left: None,
        };
        let weight = match self.lookup(name.as_bytes()) {
            None => self.unmatched_rule(name).map_or(Ok(1.0), Err),
            Some(index) => {
                let index = index as usize;
                let rule = &self.events[index].rule;
                let salt = usize::from(rule.salt_index);
                explanation.registered = true;
                explanation.priority = Some(rule.priority());
                explanation.max_bytes = rule.max_bytes();
                explanation.sample_rate_ppm = Some(rate_ppm_for_floor(rule.keep_floor));
                explanation.keep_from = Some(rule.keep_floor);
                explanation.sampling_salt = self.salts.get(salt).map(|salt| salt.to_string());
                explanation.unit_value = unit_value.as_ref().map(|value| value(salt));
                let limit =
                    rule.is_rate_limited().then(|| self.bucket_limits.get(self.events[index].rate_limit as usize));
                if let Some(limit) = limit.flatten() {
                    explanation.rate_limit_per_second = Some(limit.per_second);
                    explanation.rate_limit_burst = Some(limit.burst);
                }
                // Without a unit: the largest sampling value, in the sample at every rate
                // above 0.
                let value = explanation.unit_value.unwrap_or(RANDOM_VALUE_MASK);
                let tokens_left = &mut explanation.tokens_left;
                let look = |bucket: &TokenBucket| {
                    let available = bucket.available(now());
                    *tokens_left = Some(available);
                    available > 0
                };
                self.evaluate(index, rule, size_bytes, |_| value, Some(look))
            }
        };
        explanation.refused_by = weight.err();
        explanation.decision = match weight {
            Ok(weight) => Decision::Keep { weight },
            Err(_) if self.shadow => Decision::Keep { weight: 1.0 },
            Err(reason) => Decision::Drop { reason },
        };
        explanation
    }
}

/// Longest part of a name shown in the text, in bytes.
const MAX_SHOWN_NAME_BYTES: usize = 80;

impl fmt::Display for Explanation {
    /// A few aligned lines: the decision, then one line per rule with the values it read, in
    /// the order the rules run (`docs/plan.md`). The text is for people; the fields are the
    /// interface.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cut = self.name.char_indices().map(|(index, _)| index).find(|&index| index > MAX_SHOWN_NAME_BYTES);
        let name = cut.and_then(|index| self.name.get(..index)).unwrap_or(&self.name);
        let more = if cut.is_some() { "…" } else { "" };
        write!(formatter, "{name:?}{more} ({} bytes): ", self.size_bytes)?;
        match (self.decision, self.refused_by) {
            (Decision::Keep { weight }, None) => write!(formatter, "keep, weight {}", short(weight))?,
            (Decision::Keep { .. }, Some(reason)) => write!(formatter, "keep (shadow plan; would drop: {reason})")?,
            (Decision::Drop { reason }, _) => write!(formatter, "drop: {reason}")?,
        }
        let refused = |reason: DropReason| if self.refused_by == Some(reason) { "  <- refused here" } else { "" };
        let state = |on: bool| if on { "yes" } else { "no" };
        write!(
            formatter,
            "\n  plan          version {}, enabled {}, shadow {}{}",
            self.plan_version,
            state(self.plan_enabled),
            state(self.shadow),
            refused(DropReason::Disabled)
        )?;
        let Some(priority) = self.priority else {
            return match &self.name_problem {
                Some(problem) => {
                    write!(formatter, "\n  name          invalid: {problem}{}", refused(DropReason::InvalidName))
                }
                None => write!(
                    formatter,
                    "\n  name          not in the plan (unregistered: {}){}",
                    if self.refused_by == Some(DropReason::Unregistered) { "drop" } else { "keep" },
                    refused(DropReason::Unregistered)
                ),
            };
        };
        write!(formatter, "\n  event         registered, priority {priority}")?;
        for reason in [DropReason::Retired, DropReason::Shed] {
            if self.refused_by == Some(reason) {
                write!(formatter, "\n  status        {reason}{}", refused(reason))?;
            }
        }
        match self.max_bytes {
            Some(cap) => write!(formatter, "\n  size          {} bytes, cap {cap}", self.size_bytes)?,
            None => write!(formatter, "\n  size          {} bytes, no cap", self.size_bytes)?,
        }
        formatter.write_str(refused(DropReason::Oversize))?;
        if let (Some(rate), Some(keep_from)) = (self.sample_rate_ppm, self.keep_from) {
            write!(formatter, "\n  sampling      rate {} ({rate} ppm)", Percent(rate))?;
            if let Some(salt) = &self.sampling_salt {
                write!(formatter, ", salt {salt:?}")?;
            }
            match self.unit_value {
                Some(value) => write!(formatter, ", unit value {value}, kept from {keep_from}")?,
                None if keep_from > 0 => formatter.write_str(", no unit given: decided as for a unit in the sample")?,
                None => {}
            }
            formatter.write_str(refused(DropReason::SampledOut))?;
        }
        match (self.rate_limit_per_second, self.rate_limit_burst) {
            (Some(per_second), Some(burst)) => {
                write!(formatter, "\n  rate limit    {}/s, burst {burst}", short(per_second))?;
                match self.tokens_left {
                    Some(tokens) => write!(formatter, ", {tokens} token(s) left")?,
                    None => formatter.write_str(", bucket not reached")?,
                }
                formatter.write_str(refused(DropReason::RateLimited))
            }
            _ => formatter.write_str("\n  rate limit    none"),
        }
    }
}

/// Parts per million as a percentage with no trailing zeros: `25%`, `0.0001%`.
struct Percent(u32);

impl fmt::Display for Percent {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (whole, fraction) = (self.0 / 10_000, self.0 % 10_000);
        if fraction == 0 {
            return write!(formatter, "{whole}%");
        }
        let digits = format!("{fraction:04}");
        write!(formatter, "{whole}.{}%", digits.trim_end_matches('0'))
    }
}
