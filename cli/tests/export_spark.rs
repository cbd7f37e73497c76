//! `trackgate export spark`: options reach the SQL, the PySpark module wraps the same query, and
//! bad input exits with its code. Whether Spark keeps the same rows as the filter is checked on a
//! real Spark by `tests/spark/test_spark_parity.py`.

mod etl_common;

use etl_common::{path_in, scratch_directory, trackgate, write_file, RULES_PLAN};

#[test]
fn table_and_column_options_reach_the_query() {
    let directory = scratch_directory("export_options");
    let plan = write_file(&directory, "plan.json", RULES_PLAN);
    let run = trackgate(&[
        "export",
        "spark",
        "--plan",
        &plan,
        "--table",
        "raw.app_events",
        "--name-column",
        "payload.name",
        "--unit-column",
        "install_id",
        "--size-column",
        "bytes",
    ]);
    run.assert_code(0);
    let sql = run.stdout_text();
    assert!(sql.contains("FROM `raw`.`app_events`"), "{sql}");
    assert!(sql.contains("coalesce(CAST(`payload`.`name` AS STRING), '')"));
    assert!(sql.contains("xxhash64('s1', coalesce(CAST(`install_id` AS STRING), ''))"));
    assert!(sql.contains("`bytes` > 90"));
    assert!(sql.contains("plan shop/test version 3"));
    assert!(sql.trim_end().ends_with("WHERE _tg_drop_reason IS NULL"));
}

#[test]
fn select_all_returns_every_row_with_its_reason() {
    let directory = scratch_directory("export_all");
    let plan = write_file(&directory, "plan.json", RULES_PLAN);
    let run = trackgate(&["export", "spark", "--plan", &plan, "--select", "all"]);
    run.assert_code(0);
    let sql = run.stdout_text();
    assert!(!sql.contains("WHERE _tg_drop_reason IS NULL"));
    assert!(sql.contains("AS _tg_drop_reason"));
}

#[test]
fn pyspark_module_wraps_the_same_query() {
    let directory = scratch_directory("export_pyspark");
    let plan = write_file(&directory, "plan.json", RULES_PLAN);
    let module_path = path_in(&directory, "plan_step.py");
    trackgate(&["export", "spark", "--plan", &plan, "--pyspark", "-o", &module_path]).assert_code(0);
    let module = std::fs::read_to_string(&module_path).expect("module written");
    let sql = trackgate(&["export", "spark", "--plan", &plan, "--table", "trackgate_events"]).stdout_text();
    assert!(module.contains("def apply_trackgate_plan(spark: SparkSession, events: DataFrame) -> DataFrame:"));
    assert!(module.contains("TRACKGATE_PLAN_VERSION = 3"));
    assert!(module.contains(&sql), "the module embeds the query for the view it registers");
}

#[test]
fn bad_plans_and_names_are_refused() {
    let directory = scratch_directory("export_failures");
    let invalid = write_file(&directory, "invalid.json", "{\"schema\": 2}");
    trackgate(&["export", "spark", "--plan", &invalid]).assert_code(1);
    let plan = write_file(&directory, "plan.json", RULES_PLAN);
    let run = trackgate(&["export", "spark", "--plan", &plan, "--table", "db..events"]);
    run.assert_code(2);
    assert!(run.stderr.contains("db..events"), "{}", run.stderr);
    trackgate(&["export", "spark", "--plan", &plan, "--select", "some"]).assert_code(2);
}
