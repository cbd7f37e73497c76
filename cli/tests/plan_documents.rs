//! The plan documents stay true: the checked-in JSON Schema is what `trackgate schema` prints,
//! and the example plan in `docs/` validates cleanly.

use std::path::PathBuf;
use std::process::Command;

fn repository_file(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join(relative)
}

#[test]
fn checked_in_schema_matches_the_types() {
    let output = Command::new(env!("CARGO_BIN_EXE_trackgate")).arg("schema").output().expect("runs");
    assert!(output.status.success());
    let printed = String::from_utf8(output.stdout).expect("utf-8");
    let checked_in = std::fs::read_to_string(repository_file("docs/plan.schema.json")).expect("schema file");
    assert_eq!(
        printed.trim_end(),
        checked_in.trim_end(),
        "docs/plan.schema.json is stale: run `trackgate schema > docs/plan.schema.json`"
    );
    let schema: serde_json::Value = serde_json::from_str(&printed).expect("schema is JSON");
    assert_eq!(schema["additionalProperties"], serde_json::Value::Bool(false));
    assert!(schema["required"].as_array().expect("required list").iter().any(|field| field == "events"));
}

#[test]
fn example_plan_is_valid_without_warnings() {
    let output = Command::new(env!("CARGO_BIN_EXE_trackgate"))
        .args(["validate", "--json"])
        .arg(repository_file("docs/examples/plan.json"))
        .output()
        .expect("runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stdout));
    let result: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON output");
    assert_eq!(result["valid"], serde_json::Value::Bool(true));
    assert_eq!(result["diagnostics"].as_array().map(Vec::len), Some(0));
    assert_eq!(result["events"], serde_json::json!(4));
}
