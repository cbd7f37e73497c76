//! Shared benchmark fixtures: a deterministic, realistic plan generator and the name lists the
//! criterion benches, the callgrind probe and the memory report all measure against.
//!
//! [`Fixture::generate`] builds an allowlist of `events` names shaped like real analytics events
//! (`area.object_action`, 12–40 bytes) with the rule mix of a mature app: priorities P0–P3, about
//! 10% retired, about 30% sampled at rates from 0.1% to 90%, about 3% rate-limited, a few
//! per-event salts and size caps. The same `events` count always yields the same plan text, names,
//! hit list and miss list, byte for byte, on every platform (the generator uses its own PRNG).
//!
//! The peers the benches compare against (the `unleash-yggdrasil` flag engine and a hand-rolled
//! `HashMap` + SHA-256 gate) are built from the same [`EventSpec`]s in `benches/peers/`, a
//! bench-only module, so the probe and report binaries build without the peers' dependencies.

use serde_json::{json, Map, Value};

/// Events in the plan the criterion benches and the memory report use.
pub const BENCH_PLAN_EVENTS: usize = 50_000;

/// Events in the plan the callgrind probe uses: small enough to parse quickly under valgrind.
pub const CALLGRIND_PLAN_EVENTS: usize = 5_000;

/// Distinct names each decide bench rotates through (a power of two, so rotation is a mask).
pub const HOT_SET: usize = 1024;

/// The sampling unit every engine and peer decides for.
pub const UNIT_ID: &str = "3f0c9d2e-5b7a-4e61-9c84-0d2f6a1b7e35";

/// Payload size passed with every decision (below every size cap except the smallest).
pub const EVENT_SIZE_BYTES: u64 = 600;

/// The plan-wide default size cap.
pub const DEFAULT_MAX_BYTES: u32 = 131_072;

/// The plan-wide sampling salt.
pub const PLAN_SALT: &str = "trackgate-2026";

const AREAS: [&str; 40] = [
    "auth",
    "onboarding",
    "home",
    "feed",
    "search",
    "discovery",
    "profile",
    "settings",
    "checkout",
    "cart",
    "catalog",
    "product",
    "payments",
    "wallet",
    "orders",
    "shipping",
    "returns",
    "reviews",
    "messaging",
    "notifications",
    "player",
    "library",
    "playlist",
    "camera",
    "editor",
    "stories",
    "live",
    "map",
    "rides",
    "booking",
    "calendar",
    "inbox",
    "referral",
    "rewards",
    "subscription",
    "paywall",
    "support",
    "help_center",
    "account",
    "privacy",
];

const OBJECTS: [&str; 60] = [
    "button",
    "banner",
    "screen",
    "card",
    "list_item",
    "tab",
    "modal",
    "sheet",
    "toast",
    "tooltip",
    "link",
    "icon",
    "avatar",
    "thumbnail",
    "carousel",
    "filter",
    "sort_menu",
    "search_bar",
    "text_field",
    "checkbox",
    "toggle",
    "slider",
    "video",
    "image",
    "promo_banner",
    "cta_button",
    "share_sheet",
    "menu",
    "header",
    "footer",
    "badge",
    "chip",
    "dialog",
    "form",
    "page",
    "section",
    "row",
    "tile",
    "widget",
    "stepper",
    "coupon",
    "address_form",
    "payment_method",
    "cart_item",
    "order_summary",
    "rating_prompt",
    "push_prompt",
    "permission_dialog",
    "error_state",
    "empty_state",
    "loading_state",
    "onboarding_step",
    "recommendation",
    "notification",
    "comment",
    "reaction",
    "follow_button",
    "download_button",
    "play_button",
    "pause_button",
];

const ACTIONS: [&str; 40] = [
    "tapped",
    "viewed",
    "shown",
    "dismissed",
    "opened",
    "closed",
    "scrolled",
    "swiped",
    "submitted",
    "failed",
    "succeeded",
    "started",
    "completed",
    "cancelled",
    "selected",
    "deselected",
    "expanded",
    "collapsed",
    "loaded",
    "refreshed",
    "long_pressed",
    "dragged",
    "dropped",
    "focused",
    "blurred",
    "changed",
    "cleared",
    "copied",
    "shared",
    "saved",
    "deleted",
    "edited",
    "retried",
    "skipped",
    "impression",
    "clicked",
    "hovered",
    "entered",
    "exited",
    "timed_out",
];

/// Sampling rates in parts per million, as teams pick them (round numbers).
const SAMPLE_RATES_PPM: [u32; 10] =
    [900_000, 750_000, 500_000, 250_000, 200_000, 100_000, 50_000, 20_000, 10_000, 1_000];

/// Per-event size caps in bytes.
const SIZE_CAPS: [u32; 5] = [512, 2_048, 4_096, 16_384, 65_536];

/// Rate limits: (events per second, burst).
const RATE_LIMITS: [(f64, u32); 5] = [(0.1, 1), (1.0, 5), (5.0, 10), (10.0, 20), (50.0, 100)];

/// The shortest and longest generated name, in bytes.
pub const NAME_LENGTHS: std::ops::RangeInclusive<usize> = 12..=40;

/// The workspace's SplitMix64 ([`trackgate_core::SplitMix64`]) with the draws the fixtures use,
/// so fixtures never depend on another crate's algorithm choices.
#[derive(Debug, Clone)]
pub struct SplitMix64(trackgate_core::SplitMix64);

impl SplitMix64 {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        SplitMix64(trackgate_core::SplitMix64::new(seed))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// A value in `0..bound` (`bound` > 0; the tiny modulo bias is irrelevant here).
    pub fn below(&mut self, bound: usize) -> usize {
        (self.next_u64() % bound as u64) as usize
    }

    /// True with probability `percent / 100`.
    pub fn percent(&mut self, percent: u64) -> bool {
        self.next_u64() % 100 < percent
    }

    /// Shuffles in place (Fisher–Yates).
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for last in (1..items.len()).rev() {
            items.swap(last, self.below(last + 1));
        }
    }
}

/// The rules of one generated event, in plain form so peers can be built from them too.
#[derive(Debug, Clone, PartialEq)]
pub struct EventSpec {
    /// `area.object_action`.
    pub name: String,
    /// 0..=3 for P0..P3.
    pub priority: u8,
    /// Every occurrence is dropped.
    pub retired: bool,
    /// Share of units kept, in parts per million (1,000,000 = not sampled).
    pub sample_ppm: u32,
    /// Salt instead of the plan's.
    pub salt: Option<String>,
    /// `(per_second, burst)`.
    pub rate_limit: Option<(f64, u32)>,
    /// Size cap instead of the plan default.
    pub max_bytes: Option<u32>,
    /// Owning team (tooling only, but real plans carry it, so parsing pays for it).
    pub owner: String,
    /// Free text on some events.
    pub description: Option<String>,
}

impl EventSpec {
    /// The salt sampling uses for this event.
    pub fn effective_salt(&self) -> &str {
        self.salt.as_deref().unwrap_or(PLAN_SALT)
    }

    /// The size cap that applies to this event.
    pub fn effective_max_bytes(&self) -> u32 {
        self.max_bytes.unwrap_or(DEFAULT_MAX_BYTES)
    }
}

/// Every `area.object_action` name whose length is in [`NAME_LENGTHS`], in a fixed shuffled order.
fn candidate_names(rng: &mut SplitMix64) -> Vec<String> {
    let mut names = Vec::with_capacity(AREAS.len() * OBJECTS.len() * ACTIONS.len());
    for area in AREAS {
        for object in OBJECTS {
            for action in ACTIONS {
                let name = format!("{area}.{object}_{action}");
                if NAME_LENGTHS.contains(&name.len()) {
                    names.push(name);
                }
            }
        }
    }
    rng.shuffle(&mut names);
    names
}

fn event_spec(name: String, rng: &mut SplitMix64) -> EventSpec {
    let sampled = rng.percent(30);
    let mut priority = match rng.below(100) {
        0..=4 => 0,
        5..=24 => 1,
        25..=74 => 2,
        _ => 3,
    };
    if sampled && priority == 0 {
        // Sampling P0 events draws a validation warning; teams sample P1 at most.
        priority = 1;
    }
    let retired = rng.percent(10);
    let sample_ppm = if sampled { SAMPLE_RATES_PPM[rng.below(SAMPLE_RATES_PPM.len())] } else { 1_000_000 };
    let salt = (sampled && rng.percent(8)).then(|| format!("experiment_2026_{:02}", rng.below(16)));
    let rate_limit = rng.percent(3).then(|| RATE_LIMITS[rng.below(RATE_LIMITS.len())]);
    let max_bytes = rng.percent(15).then(|| SIZE_CAPS[rng.below(SIZE_CAPS.len())]);
    let area = name.split('.').next().unwrap_or("core");
    let owner = format!("team-{}", area.replace('_', "-"));
    let description = rng.percent(40).then(|| format!("Fired when {} happens; see the {area} tracking doc.", name));
    EventSpec { name, priority, retired, sample_ppm, salt, rate_limit, max_bytes, owner, description }
}

/// A generated plan with the names the benches look up.
#[derive(Debug, Clone)]
pub struct Fixture {
    /// Every event, sorted by name (the order the plan's JSON object lists them).
    pub events: Vec<EventSpec>,
    /// The plan as JSON text, as an app would receive it.
    pub json: String,
    /// [`HOT_SET`] names drawn uniformly from the plan (a realistic rule mix).
    pub hits: Vec<String>,
    /// [`HOT_SET`] valid names that are not in the plan (same vocabulary, so same shapes).
    pub misses: Vec<String>,
}

impl Fixture {
    /// The plan of `events` events; deterministic for a given count.
    ///
    /// # Panics
    /// If `events` exceeds the name space (about 95,000) less [`HOT_SET`] misses.
    pub fn generate(events: usize) -> Fixture {
        let mut rng = SplitMix64::new(0x7472_6163_6b67_6174 ^ events as u64);
        let mut names = candidate_names(&mut rng);
        assert!(events + HOT_SET <= names.len(), "at most {} events can be generated", names.len() - HOT_SET);
        let misses = names.split_off(events).into_iter().take(HOT_SET).collect();
        let mut hits: Vec<String> = names.clone();
        rng.shuffle(&mut hits);
        hits.truncate(HOT_SET.min(events));
        let mut specs: Vec<EventSpec> = names.into_iter().map(|name| event_spec(name, &mut rng)).collect();
        specs.sort_by(|left, right| left.name.cmp(&right.name));
        let json = plan_json(&specs);
        Fixture { events: specs, json, hits, misses }
    }

    /// The names of all events, sorted.
    pub fn names(&self) -> Vec<&str> {
        self.events.iter().map(|event| event.name.as_str()).collect()
    }
}

/// A sample rate in ppm as the JSON number a person would write (0.25, not 0.250000).
fn rate_value(ppm: u32) -> Value {
    let text = format!("{}", f64::from(ppm) / 1e6);
    Value::Number(text.parse().expect("a finite rate is a JSON number"))
}

/// The plan JSON text for `events` (pretty-printed, as plans are stored in repositories).
pub fn plan_json(events: &[EventSpec]) -> String {
    let mut rules = Map::new();
    for event in events {
        let mut rule = Map::new();
        rule.insert("priority".into(), json!(format!("P{}", event.priority)));
        if event.retired {
            rule.insert("status".into(), json!("retired"));
        }
        if event.sample_ppm != 1_000_000 {
            rule.insert("sample".into(), rate_value(event.sample_ppm));
        }
        if let Some(salt) = &event.salt {
            rule.insert("salt".into(), json!(salt));
        }
        if let Some((per_second, burst)) = event.rate_limit {
            rule.insert("rate_limit".into(), json!({"per_second": per_second, "burst": burst}));
        }
        if let Some(max_bytes) = event.max_bytes {
            rule.insert("max_bytes".into(), json!(max_bytes));
        }
        rule.insert("owner".into(), json!(event.owner));
        if let Some(description) = &event.description {
            rule.insert("description".into(), json!(description));
        }
        rules.insert(event.name.clone(), Value::Object(rule));
    }
    let plan = json!({
        "schema": 1,
        "app": "bench_shop",
        "env": "prod",
        "version": 42,
        "sampling_salt": PLAN_SALT,
        "unregistered": "drop",
        "defaults": {"max_bytes": DEFAULT_MAX_BYTES},
        "events": Value::Object(rules),
    });
    serde_json::to_string_pretty(&plan).expect("a JSON value serialises")
}

/// The name of event `index` of [`large_plan_json`] (`area.evN`; any index below the plan's
/// event count names one of its events).
pub fn large_plan_name(index: usize) -> String {
    format!("{}.ev{index}", AREAS[index % AREAS.len()])
}

/// Events in the large plans of the plan-loading benches (`parse/500k`, `compile/500k`).
pub const LARGE_PLAN_EVENTS: usize = 500_000;

/// A plan of `events` events at the scale [`Fixture::generate`] cannot reach (its name space
/// ends near 95,000): names `area.evN`, one event per line, compact, with the rule mix of
/// [`Fixture`] (priorities P0–P3, about 10% retired, 30% sampled, 3% rate-limited, 15% with a
/// size cap, 40% with an owner, no description). About 51 bytes per event (25.5 MB for
/// 500,000 events). Deterministic for a given count; valid without warnings.
pub fn large_plan_json(events: usize) -> String {
    let mut rng = SplitMix64::new(0x6c61_7267_6570_6c61 ^ events as u64);
    let mut text = String::with_capacity(events * 64 + 256);
    text.push_str(&format!(
        "{{\"schema\": 1, \"app\": \"bench_shop\", \"env\": \"prod\", \"version\": 42, \
         \"sampling_salt\": \"{PLAN_SALT}\", \"defaults\": {{\"max_bytes\": {DEFAULT_MAX_BYTES}}}, \"events\": {{"
    ));
    let mut names: Vec<String> = (0..events).map(large_plan_name).collect();
    names.sort_unstable();
    for (position, name) in names.iter().enumerate() {
        let sampled = rng.percent(30);
        let priority = match rng.below(100) {
            0..=4 if !sampled => 0,
            0..=24 => 1,
            25..=74 => 2,
            _ => 3,
        };
        text.push_str(if position == 0 { "\n" } else { ",\n" });
        text.push_str(&format!("\"{name}\":{{\"priority\":\"P{priority}\""));
        if rng.percent(10) {
            text.push_str(",\"status\":\"retired\"");
        }
        if sampled {
            let ppm = SAMPLE_RATES_PPM[rng.below(SAMPLE_RATES_PPM.len())];
            text.push_str(&format!(",\"sample\":{}", f64::from(ppm) / 1e6));
        }
        if rng.percent(3) {
            let (per_second, burst) = RATE_LIMITS[rng.below(RATE_LIMITS.len())];
            text.push_str(&format!(",\"rate_limit\":{{\"per_second\":{per_second:?},\"burst\":{burst}}}"));
        }
        if rng.percent(15) {
            text.push_str(&format!(",\"max_bytes\":{}", SIZE_CAPS[rng.below(SIZE_CAPS.len())]));
        }
        if rng.percent(40) {
            text.push_str(&format!(",\"owner\":\"team-{}\"", rng.below(40)));
        }
        text.push('}');
    }
    text.push_str("\n}}\n");
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use trackgate_core::name::is_valid_event_name;
    use trackgate_core::{parse_plan, CompiledPlan};

    #[test]
    fn deterministic() {
        let first = Fixture::generate(2_000);
        let second = Fixture::generate(2_000);
        assert_eq!(first.json, second.json);
        assert_eq!(first.hits, second.hits);
        assert_eq!(first.misses, second.misses);
    }

    #[test]
    fn realistic_mix_and_valid_plan() {
        let fixture = Fixture::generate(BENCH_PLAN_EVENTS);
        let count = fixture.events.len() as f64;
        assert_eq!(fixture.events.len(), BENCH_PLAN_EVENTS);
        let share = |predicate: &dyn Fn(&EventSpec) -> bool| {
            fixture.events.iter().filter(|event| predicate(event)).count() as f64 / count
        };
        assert!((0.08..0.12).contains(&share(&|event| event.retired)));
        assert!((0.27..0.33).contains(&share(&|event| event.sample_ppm < 1_000_000)));
        assert!((0.02..0.05).contains(&share(&|event| event.rate_limit.is_some())));
        assert!((0.005..0.05).contains(&share(&|event| event.salt.is_some())));
        assert!((0.12..0.18).contains(&share(&|event| event.max_bytes.is_some())));
        for priority in 0..4 {
            assert!(share(&|event| event.priority == priority) > 0.03);
        }
        assert!(fixture.events.iter().all(|event| NAME_LENGTHS.contains(&event.name.len())));

        let validated = parse_plan(&fixture.json).expect("the generated plan is valid");
        assert!(validated.warnings.is_empty(), "{:?}", validated.warnings);
        let compiled = CompiledPlan::compile(&validated.plan).expect("compiles");
        assert_eq!(compiled.event_count(), BENCH_PLAN_EVENTS);

        let names: HashSet<&str> = fixture.names().into_iter().collect();
        assert_eq!(fixture.hits.len(), HOT_SET);
        assert_eq!(fixture.misses.len(), HOT_SET);
        assert!(fixture.hits.iter().all(|hit| names.contains(hit.as_str())));
        assert!(fixture.misses.iter().all(|miss| !names.contains(miss.as_str()) && is_valid_event_name(miss)));
        assert_eq!(fixture.hits.iter().collect::<HashSet<_>>().len(), HOT_SET);
    }
}
