//! `trackgate report` reads every drop report of the NDJSON file `trackgate serve --collect`
//! writes (real POSTs over 127.0.0.1 to the built binary), and refuses data after a JSON
//! document with `FILE:LINE:COLUMN` instead of ignoring it.

mod common;

use std::sync::Arc;

use common::{path, post_json, scratch, trackgate, ServeProcess};
use trackgate_core::{parse_plan, CompiledPlan, Engine, EngineOptions, ManualClock};

const PLAN: &str = r#"{"schema": 1, "app": "shop", "env": "prod", "version": 1,
  "events": {"checkout.completed": {"priority": "P0"}, "legacy.banner": {"priority": "P3", "status": "retired"}}}"#;

/// A device's drop report for 2026-11-01 after `kept` checkouts and `dropped` retired events.
fn device_report(device: &str, kept: usize, dropped: usize) -> String {
    let clock = Arc::new(ManualClock::new(1_793_491_200_000));
    let plan = CompiledPlan::compile(&parse_plan(PLAN).unwrap().plan).unwrap();
    let options = EngineOptions { unit_id: Some(device.into()), clock, ..EngineOptions::default() };
    let engine = Engine::new(plan, options).unwrap();
    for _ in 0..kept {
        engine.decide("checkout.completed", 100);
    }
    for _ in 0..dropped {
        engine.decide("legacy.banner", 10);
    }
    serde_json::to_string(&engine.take_report()).unwrap()
}

#[test]
fn every_report_of_a_collect_file_counts() {
    let directory = scratch("report-ndjson");
    let plans = directory.join("plans");
    std::fs::create_dir_all(&plans).unwrap();
    let collected = directory.join("collected.ndjson");
    let server = ServeProcess::start(&[path(&plans), "--collect", path(&collected)]);
    let reports = [device_report("d1", 3, 1), device_report("d2", 5, 2), device_report("d3", 7, 4)];
    for report in &reports {
        assert_eq!(post_json(server.address(), report), 204);
    }
    drop(server);
    assert_eq!(std::fs::read_to_string(&collected).unwrap().lines().count(), 3, "one line per upload");

    let run = trackgate(&["report", "--json", path(&collected)]);
    run.assert_code(0);
    let report = run.json();
    let windows = report["windows"].as_array().expect("windows");
    assert_eq!(windows.len(), 1, "all three are 2026-11-01");
    assert_eq!(windows[0]["offered"], 3 + 1 + 5 + 2 + 7 + 4, "every report counts, not only the first");
    assert_eq!(windows[0]["files"].as_array().map(Vec::len), Some(1));
}

#[test]
fn data_after_the_json_is_refused_with_its_place() {
    let directory = scratch("report-trailing");
    let report = device_report("d1", 2, 1);
    let garbage = directory.join("garbage.json");
    std::fs::write(&garbage, format!("{report}\n  oops\n")).unwrap();
    let run = trackgate(&["report", path(&garbage)]);
    run.assert_code(1);
    assert!(run.stderr.contains(&format!("{}:2:3: $: expected value", path(&garbage))), "{}", run.stderr);

    // A bad second report is placed on its own line.
    let second = directory.join("second.ndjson");
    std::fs::write(&second, format!("{report}\n{{\"window_start_unix_ms\": \"x\"}}\n")).unwrap();
    let run = trackgate(&["report", path(&second)]);
    run.assert_code(1);
    assert!(run.stderr.contains(&format!("{}:2:", path(&second))), "{}", run.stderr);
    assert!(run.stderr.contains("$.window_start_unix_ms"), "{}", run.stderr);

    // The other inputs (prices here) refuse trailing data too.
    let prices = directory.join("prices.json");
    std::fs::write(&prices, "{\"per_gb\": 1}\n{\"per_gb\": 2}\n").unwrap();
    let plain = directory.join("one.json");
    std::fs::write(&plain, &report).unwrap();
    let run = trackgate(&["report", path(&plain), "--prices", path(&prices)]);
    run.assert_code(1);
    assert!(run.stderr.contains(&format!("{}:2:1: $: trailing characters", path(&prices))), "{}", run.stderr);
}
