//! The fast path of plan loading: a valid plan read by `serde_json` straight into [`Plan`].
//!
//! It accepts only what the spanned reader (`json.rs` + `validate.rs`) accepts *without any
//! diagnostic*, and then yields the same [`Plan`]. Anything else (a syntax error, an unknown or
//! duplicate key, a duplicate event, a wrong type, `null` where the spanned reader would report
//! it, a rate that is not exactly parts per million, a plan with a warning) makes it give up, and
//! the spanned reader reads the text again to place every problem by line:column. So it never
//! reports anything itself; it only saves the tree for plans that have nothing to report.
//!
//! Exactness: numbers are borrowed as their source text (`RawValue`) and read by the same code
//! as the spanned reader (`SampleRate::parse_decimal`, `str::parse`), never through
//! `serde_json`'s own number conversion. Enumerations are read from strings only (the derived
//! `Deserialize` of a unit enum would also take `{"P0": null}`). Structs are derived with
//! `deny_unknown_fields` (the derived code refuses a repeated field by itself) and read through
//! [`Object`], because a derived struct also reads a JSON *array*, field by field. The events
//! map refuses a repeated name itself (a `BTreeMap` would keep the last one silently).

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

use crate::plan::{
    Defaults, EventRule, EventStatus, Plan, Priority, RateLimit, SampleRate, UnregisteredPolicy, MAX_EVENTS,
};

/// The plan, or `None` when the text has anything to report (or is not simply valid): the
/// caller then reads it with the spanned reader.
pub(crate) fn read(source: &str) -> Option<Plan> {
    let Object(raw): Object<RawPlan<'_>> = serde_json::from_str(source).ok()?;
    let plan = raw.into_plan()?;
    // Any diagnostic, even a warning, needs a position: the spanned reader places it.
    plan.check().is_empty().then_some(plan)
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPlan<'source> {
    #[serde(borrow)]
    schema: &'source RawValue,
    app: String,
    env: String,
    #[serde(borrow)]
    version: &'source RawValue,
    enabled: Option<bool>,
    sampling_salt: Option<String>,
    unregistered: Option<Choice<UnregisteredPolicy>>,
    shed_below: Option<Choice<Priority>>,
    shadow: Option<bool>,
    #[serde(borrow)]
    defaults: Option<Object<RawDefaults<'source>>>,
    events: Events,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDefaults<'source> {
    #[serde(borrow)]
    max_bytes: Option<&'source RawValue>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEvent<'source> {
    status: Option<Choice<EventStatus>>,
    priority: Choice<Priority>,
    #[serde(borrow)]
    sample: Option<&'source RawValue>,
    salt: Option<String>,
    #[serde(borrow)]
    rate_limit: Option<Object<RawRateLimit<'source>>>,
    #[serde(borrow)]
    max_bytes: Option<&'source RawValue>,
    owner: Option<String>,
    description: Option<String>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRateLimit<'source> {
    #[serde(borrow)]
    per_second: &'source RawValue,
    #[serde(borrow)]
    burst: &'source RawValue,
}

impl RawPlan<'_> {
    fn into_plan(self) -> Option<Plan> {
        let defaults = match self.defaults {
            Some(Object(defaults)) => Defaults { max_bytes: optional_u32(defaults.max_bytes)? },
            None => Defaults::default(),
        };
        Some(Plan {
            schema: u32_value(self.schema)?,
            app: self.app,
            env: self.env,
            version: unsigned(self.version, u64::MAX)?,
            enabled: self.enabled.unwrap_or(true),
            sampling_salt: self.sampling_salt.unwrap_or_default(),
            unregistered: self.unregistered.map(|choice| choice.0).unwrap_or_default(),
            shed_below: self.shed_below.map(|choice| choice.0),
            shadow: self.shadow.unwrap_or(false),
            defaults,
            events: self.events.0,
        })
    }
}

impl RawEvent<'_> {
    fn into_rule(self) -> Option<EventRule> {
        let sample = match self.sample {
            Some(raw) => SampleRate::parse_decimal(number_text(raw)?).ok()?,
            None => SampleRate::default(),
        };
        let rate_limit = match self.rate_limit {
            Some(Object(limit)) => {
                Some(RateLimit { per_second: float(limit.per_second)?, burst: u32_value(limit.burst)? })
            }
            None => None,
        };
        Some(EventRule {
            status: self.status.map(|choice| choice.0).unwrap_or_default(),
            priority: self.priority.0,
            sample,
            salt: self.salt,
            rate_limit,
            max_bytes: optional_u32(self.max_bytes)?,
            owner: self.owner,
            description: self.description,
        })
    }
}

/// The source text of a JSON number, or `None` for any other value.
fn number_text(raw: &RawValue) -> Option<&str> {
    let text = raw.get();
    matches!(text.as_bytes().first(), Some(b'-' | b'0'..=b'9')).then_some(text)
}

/// As the spanned reader's `unsigned`: the number's text parsed as a `u64`, at most `maximum`.
fn unsigned(raw: &RawValue, maximum: u64) -> Option<u64> {
    number_text(raw)?.parse::<u64>().ok().filter(|&value| value <= maximum)
}

fn u32_value(raw: &RawValue) -> Option<u32> {
    unsigned(raw, u64::from(u32::MAX)).map(|value| value as u32)
}

/// An optional `u32` field; `null` was already turned into `None` by `Option`'s deserializer.
fn optional_u32(raw: Option<&RawValue>) -> Option<Option<u32>> {
    match raw {
        Some(raw) => u32_value(raw).map(Some),
        None => Some(None),
    }
}

/// As the spanned reader's `float`: the number's text parsed as an `f64`, finite.
fn float(raw: &RawValue) -> Option<f64> {
    number_text(raw)?.parse::<f64>().ok().filter(|value| value.is_finite())
}

/// A struct read from a JSON object and nothing else: the derived `Deserialize` of a struct also
/// takes an array of its fields in order (`[1, "shop", ...]`), which the spanned reader refuses.
struct Object<T>(T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ObjectVisitor<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjectVisitor<T> {
            type Value = Object<T>;
            fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                // The members still come from `serde_json`'s own map: numbers stay raw text.
                T::deserialize(de::value::MapAccessDeserializer::new(map)).map(Object)
            }
        }
        deserializer.deserialize_map(ObjectVisitor(PhantomData))
    }
}

/// A value written as one of a fixed set of strings, and nothing else.
struct Choice<T>(T);

trait Choices: Copy + 'static {
    const CHOICES: &'static [(&'static str, Self)];
}

impl Choices for Priority {
    const CHOICES: &'static [(&'static str, Self)] =
        &[("P0", Priority::P0), ("P1", Priority::P1), ("P2", Priority::P2), ("P3", Priority::P3)];
}

impl Choices for EventStatus {
    const CHOICES: &'static [(&'static str, Self)] =
        &[("active", EventStatus::Active), ("retired", EventStatus::Retired)];
}

impl Choices for UnregisteredPolicy {
    const CHOICES: &'static [(&'static str, Self)] =
        &[("drop", UnregisteredPolicy::Drop), ("keep", UnregisteredPolicy::Keep)];
}

impl<'de, T: Choices> Deserialize<'de> for Choice<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ChoiceVisitor<T>(PhantomData<T>);
        impl<T: Choices> Visitor<'_> for ChoiceVisitor<T> {
            type Value = Choice<T>;
            fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str("one of the allowed strings")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
                match T::CHOICES.iter().find(|(name, _)| *name == text) {
                    Some((_, value)) => Ok(Choice(*value)),
                    None => Err(E::custom("not one of the allowed strings")),
                }
            }
        }
        deserializer.deserialize_str(ChoiceVisitor(PhantomData))
    }
}

/// The events object: refuses a repeated name, a rule the spanned reader would report, and more
/// than [`MAX_EVENTS`] members (the pre-scan cannot tell every shape of text).
struct Events(BTreeMap<String, EventRule>);

impl<'de> Deserialize<'de> for Events {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EventsVisitor;
        impl<'de> Visitor<'de> for EventsVisitor {
            type Value = Events;
            fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str("an object mapping event names to rules")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                // Collected, then built in one go: a `BTreeMap` built from sorted entries is
                // built in linear time with full nodes, where inserting one by one searched the
                // tree for each (a quarter of the load time of a 500,000-event plan) and left
                // its nodes a third empty.
                let mut events: Vec<(String, EventRule)> = Vec::with_capacity(map.size_hint().unwrap_or(0));
                let mut sorted = true;
                while let Some(name) = map.next_key::<String>()? {
                    if events.len() >= MAX_EVENTS {
                        return Err(de::Error::custom("too many events"));
                    }
                    let Object(raw): Object<RawEvent<'de>> = map.next_value()?;
                    let rule = raw.into_rule().ok_or_else(|| de::Error::custom("a rule to report"))?;
                    sorted = sorted && events.last().is_none_or(|(last, _)| *last < name);
                    events.push((name, rule));
                }
                if !sorted {
                    events.sort_unstable_by(|left, right| left.0.cmp(&right.0));
                    if events.windows(2).any(|pair| pair[0].0 == pair[1].0) {
                        return Err(de::Error::custom("duplicate event"));
                    }
                }
                // Strictly increasing now, so nothing is merged away.
                Ok(Events(events.into_iter().collect()))
            }
        }
        deserializer.deserialize_map(EventsVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = r#"{"schema": 1, "app": "shop", "env": "prod", "version": 3, "events": {"#;

    fn fast(events: &str) -> Option<Plan> {
        read(&format!("{HEAD}{events}}}}}"))
    }

    #[test]
    fn takes_valid_plans_without_warnings() {
        let plan = fast(
            r#""b": {"priority": "P1", "sample": 25E-2, "rate_limit": {"per_second": 0.1, "burst": 2}},
               "a": {"priority": "P\u0032", "status": "retired", "max_bytes": 10, "owner": null}"#,
        )
        .expect("the fast path reads it");
        assert_eq!(plan.events["b"].sample.parts_per_million(), 250_000);
        assert_eq!(plan.events.keys().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(plan.events["a"].priority, Priority::P2);
    }

    #[test]
    fn leaves_everything_else_to_the_spanned_reader() {
        for events in [
            r#""a": {"priority": "P1"}, "a": {"priority": "P1"}"#,
            r#""b": {"priority": "P1"}, "a": {"priority": "P1"}, "b": {"priority": "P1"}"#,
            r#""a": {"priority": "P1", "priority": "P1"}"#,
            r#""a": {"priority": {"P1": null}}"#,
            r#""a": {"priority": "P1", "sample": 0.10000000000000001}"#,
            r#""a": {"priority": "P1", "max_bytes": -0}"#,
            r#""a": {"priority": "P0", "sample": 0.5}"#,
            r#""a": {"priority": "P1", "extra": 1}"#,
            r#""a": [null, "P1", null, null, null, null, null, null]"#,
            r#""a": {"priority": "P1", "rate_limit": [1, 2]}"#,
        ] {
            assert!(fast(events).is_none(), "{events}");
        }
        assert!(read(r#"{"schema": 1, "app": "a", "env": "b", "version": -0, "events": {}}"#).is_none());
        assert!(read(r#"[1, "a", "b", 3, null, null, null, null, null, null, {}]"#).is_none());
        assert!(read(r#"{"schema": 1, "app": "a", "env": "b", "version": 3, "defaults": [7], "events": {}}"#).is_none());
    }
}
