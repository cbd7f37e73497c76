//! `trackgate validate` and `trackgate schema`: exit codes 0/1/2, every problem with its
//! line:column in text and JSON, and a schema strict enough for editors to flag typos.

mod common;

use common::{sample_plan_path, trackgate, write_plan, INVALID_PLAN, PLAN_WITH_WARNING};
use serde_json::Value;

fn diagnostics(report: &Value) -> &Vec<Value> {
    report["diagnostics"].as_array().unwrap_or_else(|| panic!("no diagnostics list in {report}"))
}

#[test]
fn the_sample_plan_is_valid_without_errors() {
    let path = sample_plan_path();
    let run = trackgate(&["validate", &path]);
    run.assert_code(0);
    assert!(run.stdout.contains("valid plan for shopfront/prod version 2026112301"), "{}", run.stdout);
    let report = trackgate(&["validate", "--json", &path]).json();
    assert_eq!(report["valid"], true);
    assert!(report["events"].as_u64().unwrap() >= 150, "{report}");
    assert!(diagnostics(&report).iter().all(|diagnostic| diagnostic["severity"] != "error"), "{report}");
}

#[test]
fn an_invalid_plan_exits_1_with_every_problem_placed() {
    let path = write_plan("validate-invalid-plan.json", INVALID_PLAN);
    let run = trackgate(&["validate", &path]);
    run.assert_code(1);
    assert!(run.stdout.contains(&format!("{path}:4:40: error:")), "{}", run.stdout);
    assert!(run.stdout.contains(&format!("{path}:5:5: error:")), "{}", run.stdout);
    assert!(run.stdout.contains(&format!("{path}:6:48: warning:")), "{}", run.stdout);
    assert!(run.stdout.contains("invalid plan, 2 error(s)"), "{}", run.stdout);
}

#[test]
fn json_output_lists_the_diagnostics() {
    let path = write_plan("validate-invalid-plan-json.json", INVALID_PLAN);
    let run = trackgate(&["validate", "--json", &path]);
    run.assert_code(1);
    let report = run.json();
    assert_eq!(report["valid"], false);
    let found: Vec<(&str, u64, u64, &str)> = diagnostics(&report)
        .iter()
        .map(|diagnostic| {
            (
                diagnostic["severity"].as_str().unwrap(),
                diagnostic["line"].as_u64().unwrap(),
                diagnostic["column"].as_u64().unwrap(),
                diagnostic["path"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        found,
        [
            ("error", 4, 40, r#"$.events["checkout.completed"].priority"#),
            ("error", 5, 5, r#"$.events["bad name"]"#),
            ("warning", 6, 48, r#"$.events["promo.seen"].sample"#),
        ]
    );
}

#[test]
fn warnings_alone_do_not_refuse_a_plan() {
    let path = write_plan("validate-plan-with-warning.json", PLAN_WITH_WARNING);
    let run = trackgate(&["validate", &path]);
    run.assert_code(0);
    assert!(run.stdout.contains(&format!("{path}:5:48: warning:")), "{}", run.stdout);
    assert!(run.stdout.contains("(1 warning(s))"), "{}", run.stdout);
}

#[test]
fn a_syntax_error_is_placed() {
    let path = write_plan("validate-syntax-error.json", "{\n  \"schema\": 1,\n  \"app\": \"shop\",,\n}\n");
    let run = trackgate(&["validate", &path]);
    run.assert_code(1);
    assert!(run.stdout.contains(&format!("{path}:3:")), "{}", run.stdout);
}

#[test]
fn a_missing_file_exits_2() {
    let run = trackgate(&["validate", "/nonexistent/trackgate-plan.json"]);
    run.assert_code(2);
    assert!(run.stderr.contains("cannot read /nonexistent/trackgate-plan.json"), "{}", run.stderr);
    assert!(run.stdout.is_empty());
}

#[test]
fn schema_refuses_unknown_fields_and_describes_events() {
    let run = trackgate(&["schema"]);
    run.assert_code(0);
    let schema = run.json();
    assert_eq!(schema["additionalProperties"], false, "{schema}");
    assert!(schema["properties"]["events"].is_object(), "{schema}");
    let required: Vec<&str> =
        schema["required"].as_array().unwrap().iter().map(|field| field.as_str().unwrap()).collect();
    assert!(required.contains(&"events") && required.contains(&"version"), "{required:?}");
}
