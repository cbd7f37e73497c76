//! `trackgate usage`: the hand-checked corpus in `tests/usage/` (four layers of jobs, views,
//! CTEs, unions, joins, renames, split predicates, a cycle, unreadable statements, routing rules
//! and an analytics log) gives exactly `tests/usage/expected-usage.json`; its output closes the
//! loop with `trackgate report --usage … --evidence …`; bad inputs are placed and the rest is
//! still analysed.

mod etl_common;

use std::path::{Path, PathBuf};

use etl_common::{scratch_directory, trackgate, write_file};
use serde_json::{json, Value};

fn corpus(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/usage").join(name).display().to_string()
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("readable")).expect("JSON")
}

/// Runs `usage` on the corpus; returns (stderr, usage.json path, evidence).
fn run_corpus(directory: &Path) -> (String, PathBuf, Value) {
    let output = directory.join("usage.json");
    let arguments = [
        "usage",
        "--plan",
        &corpus("plan-shop.json"),
        "--plan",
        &corpus("plan-mall.json"),
        "--catalog",
        &corpus("catalog.json"),
        "--jobs",
        &corpus("jobs"),
        "--queries",
        &corpus("queries.ndjson"),
        "--routing",
        &corpus("routing.json"),
        "--analytics",
        &corpus("analytics.ndjson"),
        "--days",
        "30",
        "--now",
        "2026-08-31T23:59:59Z",
        "-o",
        &output.display().to_string(),
    ];
    let run = trackgate(&arguments);
    run.assert_code(0);
    let evidence = read_json(&directory.join("usage.evidence.json"));
    (run.stderr, output, evidence)
}

#[test]
fn corpus_usage_is_exactly_the_hand_written_expectation() {
    let directory = scratch_directory("usage-corpus");
    let (stderr, output, evidence) = run_corpus(&directory);
    assert_eq!(read_json(&output), read_json(Path::new(&corpus("expected-usage.json"))));

    // Unreadable and unresolved statements are counted, placed and never dropped.
    let coverage = &evidence["coverage"];
    assert_eq!(
        coverage["unresolved_by_reason"],
        json!({"cycle": 2, "parse_error": 2, "unknown_table": 1, "unsupported_predicate": 2})
    );
    assert_eq!(coverage["job_statements"], 17);
    assert_eq!(coverage["distinct_queries"], 9);
    assert_eq!(coverage["queries_in_window"], 11);
    assert_eq!(coverage["statements_resolved"], 22);
    assert_eq!(coverage["unknown_tables"], json!(["ods.missing_table"]));
    assert_eq!(
        coverage["tables_with_unknown_set"],
        json!(["dwd.debug_log", "tmp.a", "tmp.b", "tmp.broken", "tmp.orphan"])
    );
    for expected in [
        "06_broken.sql:2:1: parse error",
        "06_broken.sql:4:1: unknown table `ods.missing_table`",
        "05_cycle.sql:2:1: cycle between jobs",
        "queries.ndjson:7:19: parse error",
        "queries.ndjson:9:2: not a query-log line",
        "analytics.ndjson:3: event `unknown.event` is not registered",
    ] {
        assert!(stderr.contains(expected), "missing `{expected}` in:\n{stderr}");
    }

    // Evidence: the path of the last read, through every layer.
    let event = |app: &str, name: &str| -> Value {
        evidence["events"]
            .as_array()
            .expect("events")
            .iter()
            .find(|event| event["app"] == app && event["event"] == name)
            .cloned()
            .expect("event in evidence")
    };
    let pay_fail = event("shop", "pay.fail");
    assert_eq!(
        pay_fail["path"],
        json!([
            "ods.app_log",
            "dwd.pay_detail",
            "dws.pay_by_country",
            "ads.pay_report",
            format!("query {}:4", corpus("queries.ndjson"))
        ])
    );
    assert_eq!(pay_fail["last_read"]["user"], "bob");
    assert_eq!(pay_fail["realtime_rules"].as_array().map(Vec::len), Some(2));
    let funnel = event("shop", "checkout.start");
    assert_eq!((funnel["warehouse_queries"].as_u64(), funnel["distinct_readers"].as_u64()), (Some(3), Some(2)));
    assert_eq!(funnel["last_read"]["time"], "2026-08-31T08:00:00Z");
    assert_eq!(event("shop", "search.result_click")["conservative"], true);
    // Unused: in tables, read by nobody.
    let unused = event("shop", "cart.remove");
    assert_eq!(unused["warehouse_queries"], 0);
    assert!(unused["tables"].as_array().expect("tables").contains(&json!("dws.shop_activity_1d")));
    assert_eq!(event("mall", "page.view")["warehouse_queries"], 0);
}

/// One name's counts in a filter stats file (kept events of 100 bytes).
fn event_stats(name: &str, priority: &str, kept: u64) -> Value {
    let zero = json!({"disabled": 0, "invalid_name": 0, "unregistered": 0, "retired": 0, "shed": 0,
        "oversize": 0, "sampled_out": 0, "rate_limited": 0});
    json!({"name": name, "priority": priority, "offered": kept, "offered_bytes": kept * 100, "kept": kept,
        "kept_bytes": kept * 100, "kept_weighted": kept as f64, "dropped": zero, "dropped_bytes": zero, "shadow_dropped": zero})
}

#[test]
fn usage_output_closes_the_loop_with_report_and_its_evidence() {
    let directory = scratch_directory("usage-report");
    let (_, output, _) = run_corpus(&directory);
    let zero = event_stats("", "P3", 0)["dropped"].clone();
    let stats = json!({"format": "trackgate-filter-stats/1", "window": "2026-08-31", "input": "-",
        "plan": {"app": "shop", "env": "prod", "version": 1, "shadow": false},
        "lines": 0, "blank_lines": 0, "offered": 0, "offered_bytes": 0, "kept": 0, "kept_bytes": 0, "kept_weighted": 0.0,
        "kept_by_priority": {}, "dropped": zero, "dropped_bytes": zero, "shadow_dropped": zero,
        "malformed": {"count": 0, "bytes": 0, "first": [], "listed_limit": 100},
        "events": [event_stats("app.heartbeat", "P3", 900_000), event_stats("pay.fail", "P0", 10),
                   event_stats("cart.add", "P1", 100)],
        "untracked": null});
    let stats = write_file(&directory, "stats.json", stats.to_string());
    let evidence = directory.join("usage.evidence.json").display().to_string();
    let prices = write_file(&directory, "prices.json", r#"{"per_million_events": 10.0}"#);
    let run = trackgate(&[
        "report",
        "--prices",
        &prices,
        "--plan",
        &corpus("plan-shop.json"),
        "--usage",
        &output.display().to_string(),
        "--evidence",
        &evidence,
        "--json",
        &stats,
    ]);
    run.assert_code(0);
    let report: Value = serde_json::from_str(&run.stdout_text()).expect("report JSON");
    let platform = report["candidates_by_owner"]["platform"].as_array().expect("platform candidates");
    let why = platform[0]["why"].as_str().expect("why");
    assert_eq!(platform[0]["kind"], "retire");
    assert!(why.contains("evidence: read by 0 queries in 30 days"), "{why}");
    assert!(why.contains("flows into") && why.contains("ods.app_log"), "{why}");
    let payments = report["candidates_by_owner"]["payments"].as_array().expect("payments candidates");
    let why = payments.iter().find(|candidate| candidate["event"] == "pay.fail").expect("pay.fail")["why"]
        .as_str()
        .expect("why");
    assert!(why.contains("last read 2026-08-20 by bob") && why.contains("via ods.app_log → dwd.pay_detail"), "{why}");
}

#[test]
fn bad_inputs_are_placed_and_the_rest_is_analysed() {
    let directory = scratch_directory("usage-bad");
    let jobs = directory.join("jobs");
    std::fs::create_dir_all(&jobs).expect("jobs dir");
    write_file(&jobs, "a.sql", "INSERT INTO t SELECT event FROM ods.log WHERE event = 'good';\nSELEC oops FROM;\n");
    write_file(&jobs, "b.sql", "INSERT INTO c1 SELECT event FROM c2;\nINSERT INTO c2 SELECT event FROM c1;\n");
    let huge =
        format!("INSERT INTO big SELECT event FROM ods.log WHERE event IN ({})", "'x', ".repeat(2_000_000) + "'y'");
    assert!(huge.len() > 10_000_000);
    write_file(&jobs, "huge.sql", &huge);
    let plan = write_file(
        &directory,
        "plan.json",
        r#"{"schema": 1, "app": "a", "env": "prod", "version": 1,
            "events": {"good": {"priority": "P1"}, "other": {"priority": "P1"}, "x": {"priority": "P1"}}}"#,
    );
    let catalog =
        write_file(&directory, "catalog.json", r#"{"tables": [{"name": "ods.log", "event_column": "event"}]}"#);
    let queries = write_file(
        &directory,
        "q.ndjson",
        concat!(
            "{\"ts\": \"2026-01-02\", \"sql\": \"SELECT * FROM t\"}\n",
            "{not json\n",
            "{\"ts\": \"2026-01-02\", \"sql\": \"SELECT * FROM nowhere WHERE event = 'good'\"}\n",
        ),
    );
    let jobs = jobs.display().to_string();
    let run =
        trackgate(&["usage", "--plan", &plan, "--catalog", &catalog, "--jobs", &jobs, "--queries", &queries, "--json"]);
    run.assert_code(0);
    for expected in [
        "a.sql:2:1: parse error",
        "b.sql:1:1: cycle between jobs",
        "huge.sql:1:1: too large",
        "q.ndjson:2:2: not a query-log line",
        "q.ndjson:3: unknown table `nowhere`",
    ] {
        assert!(run.stderr.contains(expected), "missing `{expected}` in:\n{}", run.stderr);
    }
    let evidence: Value = serde_json::from_str(&run.stdout_text()).expect("evidence JSON");
    let reads: Vec<(String, u64)> = evidence["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|event| {
            (event["event"].as_str().unwrap_or_default().to_owned(), event["warehouse_queries"].as_u64().unwrap_or(0))
        })
        .collect();
    // `good` is read by the good query and (conservatively) by the unknown-table one; the
    // unknown table makes every event count as read, never fewer.
    assert_eq!(reads, [("good".to_owned(), 2), ("other".to_owned(), 1), ("x".to_owned(), 1)]);

    // A log longer than one chunk keeps its line numbers.
    let mut long = "{\"ts\": \"2026-01-02\", \"sql\": \"SELECT * FROM t\"}\n".repeat(20_004);
    long.push_str("not json\n");
    let long = write_file(&directory, "long.ndjson", long);
    let run = trackgate(&["usage", "--plan", &plan, "--catalog", &catalog, "--jobs", &jobs, "--queries", &long]);
    run.assert_code(0);
    assert!(run.stderr.contains("long.ndjson:20005:2: not a query-log line"), "{}", run.stderr);
    assert!(run.stdout_text().contains("20004 query lines"), "{}", run.stdout_text());

    // A refused catalogue names file:line:column and the JSON path.
    let bad_catalog = write_file(&directory, "bad-catalog.json", "{\"tables\": [{\"name\": 3}]}");
    let run = trackgate(&["usage", "--plan", &plan, "--catalog", &bad_catalog, "--now", "2026-01-02"]);
    run.assert_code(1);
    assert!(run.stderr.contains("bad-catalog.json:1:") && run.stderr.contains("$.tables[0].name"), "{}", run.stderr);
}
