//! Helpers of the governance tests (propose, review, plan apply, guardrails): the demo's sample
//! plan run through the real `trackgate filter` for two days of deterministic traffic, then
//! `trackgate report --json`, so every proposal test starts from a real report of the demo's
//! plan. Built once per test binary; each test works in its own scratch directory.

// Each test file is its own crate and uses only some of these helpers.
#![allow(dead_code)]

#[path = "../etl_common/mod.rs"]
pub mod etl;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

pub use etl::{path_in, scratch_directory, trackgate, write_file, Run};
use serde_json::{json, Value};

/// The time every test proposes at.
pub const NOW: &str = "2026-11-05T00:00:00Z";

/// Kept events per day of each event the traffic sends, and why each is there.
pub const TRAFFIC: [(&str, u64); 8] = [
    // Unused and 40 % of the kept volume: a retire candidate over the kept-share budget.
    ("app.heartbeat", 4000),
    // Unused, 6 %, registered long ago: the one change unsupervised mode applies by default.
    ("app.theme_changed", 600),
    // Unused, registered 10 days before NOW: held back by the registered-days guardrail.
    ("app.cache_cleared", 300),
    // Read once: a sample candidate held back by the read guardrail.
    ("catalogue.carousel_scrolled", 1500),
    // P1 read by a real-time rule: a downgrade candidate held back by real-time and read.
    ("app.launched", 400),
    // P0 read twice: a downgrade candidate held back by P0 and read.
    ("account.deleted", 200),
    // Well used: no candidate.
    ("cart.item_added", 1500),
    ("auth.login_completed", 1500),
];

/// The usage window of the fixture (usage.json).
pub fn usage() -> Value {
    json!({"days": 30, "events": {
        "catalogue.carousel_scrolled": {"warehouse_queries": 1},
        "app.launched": {"realtime_rules": 1},
        "account.deleted": {"warehouse_queries": 2},
        "cart.item_added": {"warehouse_queries": 50},
        "auth.login_completed": {"behaviour_queries": 20}
    }})
}

/// Registration dates: every event long ago except `app.cache_cleared`.
pub fn registrations() -> Value {
    let mut events = serde_json::Map::new();
    for (name, _) in TRAFFIC {
        let date = if name == "app.cache_cleared" { "2026-10-26" } else { "2025-01-01" };
        events.insert(name.to_owned(), json!(date));
    }
    json!({"format": "trackgate-registered/1", "events": events})
}

/// The shared inputs: the sample plan, the report made from it, usage and registrations.
pub struct Fixture {
    pub directory: PathBuf,
    pub plan: String,
    pub report: String,
    pub usage: String,
    pub registered: String,
    /// The filter stats the report was made from.
    pub stats: Vec<String>,
}

fn traffic(day: u32) -> String {
    let mut lines = String::new();
    for (name, count) in TRAFFIC {
        for index in 0..count {
            lines.push_str(&format!("{{\"event\":\"{name}\",\"unit_id\":\"u-{}\",\"day\":{day}}}\n", index % 97));
        }
    }
    lines
}

/// Builds the fixture once: filter two days, then report with usage, prices and rules.
pub fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        // One directory per test binary: binaries may run at the same time.
        let directory = scratch_directory(&format!("governance-fixture-{}", env!("CARGO_CRATE_NAME")));
        let plan = write_file(&directory, "plan.json", include_str!("../../src/sample_plan.json"));
        let mut stats = Vec::new();
        for day in 1..=2 {
            let input = write_file(&directory, &format!("events-{day}.ndjson"), traffic(day));
            let stats_path = path_in(&directory, &format!("stats-{day}.json"));
            let kept = path_in(&directory, &format!("kept-{day}.ndjson"));
            let window = format!("2026-11-0{day}");
            trackgate(&["filter", "--plan", &plan, "--stats", &stats_path, "--window", &window, &input, &kept])
                .assert_code(0);
            stats.push(stats_path);
        }
        let usage = write_file(&directory, "usage.json", usage().to_string());
        let prices =
            write_file(&directory, "prices.json", r#"{"currency": "EUR", "per_million_events": 100, "per_gb": 50}"#);
        let rules = write_file(
            &directory,
            "rules.json",
            r#"{"high_cost_min_share": 0.01, "sample_max_uses_per_million": 1000}"#,
        );
        let mut arguments =
            vec!["report", "--plan", &plan, "--usage", &usage, "--prices", &prices, "--rules", &rules, "--json"];
        arguments.extend(stats.iter().map(String::as_str));
        let run = trackgate(&arguments);
        run.assert_code(0);
        let report = write_file(&directory, "report.json", &run.stdout);
        let registered = write_file(&directory, "registered.json", registrations().to_string());
        Fixture { directory, plan, report, usage, registered, stats }
    })
}

/// Runs `propose` on the fixture into `directory/proposal.json` with extra arguments.
pub fn propose(directory: &Path, extra: &[&str]) -> (Run, String) {
    let fixture = fixture();
    let output = path_in(directory, "proposal.json");
    let mut arguments = vec![
        "propose",
        "--plan",
        &fixture.plan,
        "--report",
        &fixture.report,
        "--usage",
        &fixture.usage,
        "--registered",
        &fixture.registered,
        "--now",
        NOW,
        "-o",
        &output,
    ];
    arguments.extend_from_slice(extra);
    (trackgate(&arguments), output)
}

/// Writes a policy file into `directory`.
pub fn policy(directory: &Path, policy: Value) -> String {
    write_file(directory, "policy.json", policy.to_string())
}

/// Reads a JSON file.
pub fn read_json(path: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("read JSON file")).expect("JSON")
}

/// The change with `id` in a proposal.
pub fn change<'proposal>(proposal: &'proposal Value, id: &str) -> &'proposal Value {
    proposal["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .find(|change| change["id"] == id)
        .unwrap_or_else(|| panic!("no change {id} in {proposal:#}"))
}

/// Each change's id and state, sorted by id.
pub fn states(proposal: &Value) -> Vec<(String, String)> {
    let mut states: Vec<(String, String)> = proposal["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .map(|change| (change["id"].as_str().unwrap().to_owned(), change["state"].as_str().unwrap().to_owned()))
        .collect();
    states.sort();
    states
}

/// The guardrails blocking a change, in order.
pub fn blocked_by(change: &Value) -> Vec<String> {
    change["blocked_by"]
        .as_array()
        .expect("blocked_by")
        .iter()
        .map(|block| block["guardrail"].as_str().unwrap().to_owned())
        .collect()
}
