//! `trackgate demo --governance`: one run shows every step of the loop in order (report,
//! proposal, review, plan apply, release stages, staged rollout, confirm, the release table),
//! the same seed prints the same text, and a bad `--plan` is refused with its place. Uses 600
//! devices (each a delivery client) so the debug build stays within seconds.

mod common;

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::{trackgate, write_plan, Run, INVALID_PLAN};

const DEVICES: &str = "600";

/// The reference run and how long it took.
fn reference() -> &'static (Run, Duration) {
    static RUN: OnceLock<(Run, Duration)> = OnceLock::new();
    RUN.get_or_init(|| {
        let started = Instant::now();
        let run = trackgate(&["demo", "--governance", "--seed", "7", "--devices", DEVICES]);
        let took = started.elapsed();
        run.assert_code(0);
        (run, took)
    })
}

/// The position of `needle` in `text` after `from`, or a failure naming it.
fn find(text: &str, needle: &str, from: usize) -> usize {
    text[from..]
        .find(needle)
        .map(|at| from + at)
        .unwrap_or_else(|| panic!("`{needle}` missing after byte {from}:\n{text}"))
}

#[test]
fn every_step_appears_in_order_and_ends_confirmed() {
    let stdout = &reference().0.stdout;
    let mut at = 0;
    for needle in [
        "1. Report:",
        "candidate(s)",
        "2. Proposal (supervised",
        "retire:",
        "3. Review by the owners:",
        " accepted ",
        " rejected ",
        "4. Plan apply",
        "5. Release shopfront-prod-2026112302",
        "check: passed",
        "diff: ",
        "saves ",
        "business review: bea signed with key",
        "technical review: tom signed with key",
        "scheduled by carol",
        "6. Staged rollout",
        "  1%: ",
        " 10%: ",
        " 50%: ",
        "100%: 600 of 600 devices on version 2026112302",
        "clean → confirmed",
        "confirmed after",
        "stage ",
        "register ",
        "check ",
        "diff ",
        "business review ",
        "technical review ",
        "schedule ",
        "staged rollout    1%",
        "staged rollout    10%",
        "staged rollout    50%",
        "watch             100%",
        "confirm ",
    ] {
        at = find(stdout, needle, at);
    }
    assert!(stdout.contains("no HTTP"), "the output says the envelopes are offered in process");
    // The devices on the new version grow step by step, from a few to all of them.
    let on_new: Vec<u64> = stdout
        .lines()
        .filter(|line| line.contains(" devices on version 2026112302"))
        .map(|line| {
            line.split(':').nth(1).unwrap().split_whitespace().next().unwrap().replace(',', "").parse().unwrap()
        })
        .collect();
    assert_eq!(on_new.len(), 4, "{on_new:?}");
    assert!(on_new.windows(2).all(|pair| pair[0] < pair[1]) && on_new[0] > 0, "{on_new:?}");
}

#[test]
fn the_same_seed_prints_the_same_text() {
    let again = trackgate(&["demo", "--governance", "--seed", "7", "--devices", DEVICES]);
    again.assert_code(0);
    assert_eq!(again.stdout, reference().0.stdout);
    let other = trackgate(&["demo", "--governance", "--seed", "8", "--devices", DEVICES]);
    other.assert_code(0);
    assert_ne!(other.stdout, reference().0.stdout, "the seed changes the traffic and the keys");
}

#[test]
fn it_runs_in_seconds() {
    // Debug build, 600 devices: the whole loop, days of simulated time, without waiting.
    let took = reference().1;
    assert!(took < Duration::from_secs(60), "took {took:?}");
}

#[test]
fn a_bad_plan_is_refused_with_its_place() {
    let plan = write_plan("demo-governance-invalid.json", INVALID_PLAN);
    let run = trackgate(&["demo", "--governance", "--plan", &plan, "--devices", "10"]);
    run.assert_code(1);
    assert!(run.stdout.is_empty(), "nothing printed before the plan was read: {}", run.stdout);
    assert!(run.stderr.contains(&format!("{plan}:4:40: error")), "{}", run.stderr);
    assert!(run.stderr.contains(&format!("{plan}:5:5: error")), "{}", run.stderr);
}

#[test]
fn governance_mode_refuses_flags_of_the_summary() {
    let run = trackgate(&["demo", "--governance", "--json"]);
    run.assert_code(2);
    assert!(run.stderr.contains("--json"), "{}", run.stderr);
}
