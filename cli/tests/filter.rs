//! `trackgate filter`: kept lines are exactly the core's decisions, tagged and in input order;
//! stats add up; malformed lines are placed; gzip, threads, field paths and split outputs work.

mod etl_common;

use std::io::Write as _;

use etl_common::{mixed_events, path_in, scratch_directory, trackgate, trackgate_with_input, write_file, RULES_PLAN};
use serde_json::Value;
use trackgate_core::{parse_plan, CompiledPlan, Decision};

fn compiled(plan: &str) -> CompiledPlan {
    CompiledPlan::compile(&parse_plan(plan).expect("valid plan").plan).expect("compiles")
}

/// What the core decides for each line, as the tagged line the filter should write.
fn expected_output(plan: &CompiledPlan, lines: &str) -> String {
    let mut expected = String::new();
    for line in lines.lines() {
        let value: Value = serde_json::from_str(line).expect("test lines are JSON");
        let name = value["event"].as_str().unwrap_or("");
        let unit = value["unit_id"].as_str().unwrap_or("");
        let evaluation = plan.evaluate_for_unit(name, line.len() as u64, unit);
        if let Decision::Keep { weight } = evaluation.decision {
            let priority = evaluation.priority.map_or("null".to_owned(), |priority| format!("\"{priority}\""));
            expected.push_str(&format!("{},\"_tg_priority\":{priority}", &line[..line.len() - 1]));
            if weight != 1.0 {
                expected.push_str(&format!(",\"_tg_weight\":{weight:?}"));
            }
            expected.push_str("}\n");
        }
    }
    expected
}

#[test]
fn kept_lines_are_the_cores_decisions_tagged_in_input_order() {
    let directory = scratch_directory("core_decisions");
    let plan = write_file(&directory, "plan.json", RULES_PLAN);
    let lines = mixed_events(5_000);
    let run = trackgate_with_input(&["filter", "--plan", &plan, "--threads", "1"], lines.as_bytes());
    run.assert_code(0);
    let expected = expected_output(&compiled(RULES_PLAN), &lines);
    assert!(expected.lines().count() > 500, "the mix keeps a good share");
    assert_eq!(run.stdout_text(), expected);
}

#[test]
fn output_and_stats_do_not_depend_on_thread_count() {
    let directory = scratch_directory("threads");
    let plan = write_file(&directory, "plan.json", RULES_PLAN);
    // Enough lines for many blocks, so several workers really take part.
    let input = write_file(&directory, "events.ndjson", mixed_events(30_000).repeat(4));
    let mut outputs = Vec::new();
    for threads in ["1", "2", "3"] {
        let stats = path_in(&directory, &format!("stats-{threads}.json"));
        let run = trackgate(&["filter", "--plan", &plan, "--threads", threads, "--stats", &stats, &input]);
        run.assert_code(0);
        let stats = std::fs::read_to_string(&stats).expect("stats written");
        outputs.push((run.stdout, stats.replace(&format!("stats-{threads}"), "")));
    }
    assert!(outputs.windows(2).all(|pair| pair[0] == pair[1]), "output differs between thread counts");
}

#[test]
fn gzip_input_is_detected_by_content() {
    let directory = scratch_directory("gzip");
    let plan = write_file(&directory, "plan.json", RULES_PLAN);
    let lines = mixed_events(2_000);
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(lines.as_bytes()).expect("compress");
    // No .gz suffix: detection is by magic bytes. Piped through stdin as well.
    let compressed = encoder.finish().expect("compress");
    let input = write_file(&directory, "events.data", &compressed);
    let from_file = trackgate(&["filter", "--plan", &plan, &input]);
    let from_stdin = trackgate_with_input(&["filter", "--plan", &plan], &compressed);
    let plain = trackgate_with_input(&["filter", "--plan", &plan], lines.as_bytes());
    from_file.assert_code(0);
    from_stdin.assert_code(0);
    assert_eq!(from_file.stdout, plain.stdout);
    assert_eq!(from_stdin.stdout, plain.stdout);
    assert!(!plain.stdout.is_empty());
}

#[test]
fn stats_count_events_and_bytes_per_name_and_reason() {
    let directory = scratch_directory("stats");
    let plan = write_file(&directory, "plan.json", RULES_PLAN);
    let lines = mixed_events(3_000);
    let stats_path = path_in(&directory, "stats.json");
    trackgate_with_input(
        &["filter", "--plan", &plan, "--stats", &stats_path, "--window", "2026-11-01"],
        lines.as_bytes(),
    )
    .assert_code(0);
    let stats: Value = serde_json::from_str(&std::fs::read_to_string(&stats_path).expect("stats")).expect("JSON");
    assert_eq!(stats["format"], "trackgate-filter-stats/1");
    assert_eq!(stats["window"], "2026-11-01");
    assert_eq!(stats["lines"], 3_000);
    assert_eq!(stats["offered"], 3_000);
    assert_eq!(stats["offered_bytes"], lines.lines().map(|line| line.len() as u64).sum::<u64>());

    // Recount every name and reason with the core.
    let plan = compiled(RULES_PLAN);
    let mut expected: std::collections::BTreeMap<String, (u64, u64, [u64; 8], [u64; 8])> = Default::default();
    for line in lines.lines() {
        let value: Value = serde_json::from_str(line).expect("JSON");
        let name = value["event"].as_str().expect("name");
        let evaluation = plan.evaluate_for_unit(name, line.len() as u64, value["unit_id"].as_str().unwrap_or(""));
        let entry = expected.entry(name.to_owned()).or_default();
        match evaluation.decision {
            Decision::Keep { .. } => {
                entry.0 += 1;
                entry.1 += line.len() as u64;
            }
            Decision::Drop { reason } => {
                entry.2[reason as usize] += 1;
                entry.3[reason as usize] += line.len() as u64;
            }
        }
    }
    let events = stats["events"].as_array().expect("events");
    assert_eq!(events.len(), expected.len());
    for event in events {
        let name = event["name"].as_str().expect("name");
        let (kept, kept_bytes, dropped, dropped_bytes) = expected[name];
        assert_eq!((event["kept"].as_u64(), event["kept_bytes"].as_u64()), (Some(kept), Some(kept_bytes)), "{name}");
        for (index, reason) in trackgate_core::DropReason::ALL.iter().enumerate() {
            assert_eq!(event["dropped"][reason.as_str()].as_u64(), Some(dropped[index]), "{name} {reason}");
            assert_eq!(event["dropped_bytes"][reason.as_str()].as_u64(), Some(dropped_bytes[index]), "{name} {reason}");
        }
    }
    // Every rule of the plan fired, and kept + dropped = offered.
    for reason in ["invalid_name", "unregistered", "retired", "shed", "oversize", "sampled_out"] {
        assert!(stats["dropped"][reason].as_u64().unwrap_or(0) > 0, "{reason} never fired");
    }
    let dropped: u64 = stats["dropped"].as_object().expect("reasons").values().filter_map(Value::as_u64).sum();
    assert_eq!(stats["kept"].as_u64().expect("kept") + dropped, 3_000);
    let search = events.iter().find(|event| event["name"] == "search.viewed").expect("sampled event");
    assert_eq!(search["kept_weighted"].as_f64(), search["kept"].as_f64().map(|kept| kept * 10.0));
}

#[test]
fn malformed_lines_are_counted_with_their_place_and_skipped() {
    let directory = scratch_directory("malformed");
    let plan = write_file(&directory, "plan.json", RULES_PLAN);
    let mut input = String::new();
    for index in 0..10 {
        input.push_str("{\"event\":\"checkout.completed\",\"unit_id\":\"u\"}\n");
        input.push_str(&format!("{{\"event\":\"checkout.completed\",,\"n\":{index}}}\n"));
    }
    input.push_str("\n   \n{\"event\":7}\r\n\u{FEFF}{}\n");
    let stats_path = path_in(&directory, "stats.json");
    let run = trackgate_with_input(
        &["filter", "--plan", &plan, "--stats", &stats_path, "--malformed-listed", "3"],
        input.as_bytes(),
    );
    run.assert_code(0);
    assert_eq!(run.stdout_text().lines().count(), 10);
    let stats: Value = serde_json::from_str(&std::fs::read_to_string(&stats_path).expect("stats")).expect("JSON");
    assert_eq!(stats["malformed"]["count"], 12);
    assert_eq!(stats["blank_lines"], 2);
    assert_eq!(stats["lines"], 24);
    let first = stats["malformed"]["first"].as_array().expect("listed lines");
    assert_eq!(first.len(), 3);
    assert_eq!((first[0]["line"].as_u64(), first[0]["column"].as_u64()), (Some(2), Some(31)));
    assert_eq!(first[1]["line"], 4);
    assert!(first[0]["message"].as_str().expect("message").starts_with("invalid JSON"), "{first:?}");
}

#[test]
fn strict_stops_at_the_first_malformed_line_naming_it() {
    let directory = scratch_directory("strict");
    let plan = write_file(&directory, "plan.json", RULES_PLAN);
    let mut input = mixed_events(20_000);
    input.push_str("{\"event\":\"checkout.completed\",\"unit_id\":[1]}\n");
    input.push_str(&mixed_events(10));
    let file = write_file(&directory, "events.ndjson", &input);
    for threads in ["1", "2"] {
        let run = trackgate(&["filter", "--plan", &plan, "--strict", "--threads", threads, &file]);
        run.assert_code(1);
        assert!(
            run.stderr.contains(&format!("{file}:20001:41: malformed line: $.unit_id: the unit id must be")),
            "{}",
            run.stderr
        );
    }
}

#[test]
fn split_by_priority_writes_one_file_per_priority() {
    let directory = scratch_directory("split");
    let plan = write_file(&directory, "plan.json", RULES_PLAN);
    let lines = mixed_events(4_000);
    let split = path_in(&directory, "out");
    trackgate_with_input(&["filter", "--plan", &plan, "--split-by-priority", &split], lines.as_bytes()).assert_code(0);
    let single = trackgate_with_input(&["filter", "--plan", &plan], lines.as_bytes());
    let mut combined: Vec<String> = Vec::new();
    for priority in ["P0", "P1", "P2", "P3"] {
        let text = std::fs::read_to_string(directory.join("out").join(format!("{priority}.ndjson"))).expect("file");
        assert!(text.lines().all(|line| line.contains(&format!("\"_tg_priority\":\"{priority}\""))));
        combined.extend(text.lines().map(str::to_owned));
    }
    // The plan drops unregistered names, so no file is made for events without a priority.
    assert!(!directory.join("out").join("unregistered.ndjson").exists());
    let mut single_lines: Vec<String> = single.stdout_text().lines().map(str::to_owned).collect();
    combined.sort();
    single_lines.sort();
    assert_eq!(combined, single_lines);
}

#[test]
fn kept_unregistered_names_get_a_null_priority_and_their_own_file() {
    let directory = scratch_directory("unregistered_kept");
    let plan_text = RULES_PLAN.replace("\"unregistered\": \"drop\"", "\"unregistered\": \"keep\"");
    let plan = write_file(&directory, "plan.json", &plan_text);
    let input = "{\"event\":\"promo.clicked\",\"unit_id\":\"u\"}\n{\"event\":\"checkout.completed\"}\n{}\n";
    let run = trackgate_with_input(&["filter", "--plan", &plan], input.as_bytes());
    run.assert_code(0);
    assert_eq!(
        run.stdout_text(),
        "{\"event\":\"promo.clicked\",\"unit_id\":\"u\",\"_tg_priority\":null}\n\
         {\"event\":\"checkout.completed\",\"_tg_priority\":\"P0\"}\n"
    );
    let split = path_in(&directory, "out");
    trackgate_with_input(&["filter", "--plan", &plan, "--split-by-priority", &split], input.as_bytes()).assert_code(0);
    let unregistered = std::fs::read_to_string(directory.join("out").join("unregistered.ndjson")).expect("file");
    assert_eq!(unregistered.lines().count(), 1);
}

#[test]
fn nested_fields_and_a_size_field_are_read_by_path() {
    let directory = scratch_directory("nested");
    let plan = write_file(&directory, "plan.json", RULES_PLAN);
    let input = concat!(
        "{\"e\":{\"name\":\"cart.item_added\"},\"ctx\":{\"install_id\":\"u-1\"},\"meta\":{\"bytes\":90}}\n",
        "{\"e\":{\"name\":\"cart.item_added\"},\"ctx\":{\"install_id\":\"u-1\"},\"meta\":{\"bytes\":91}}\n",
        "{\"e\":{\"name\":\"cart.item_added\"},\"meta\":{}}\n",
    );
    let stats = path_in(&directory, "stats.json");
    let arguments = [
        "filter",
        "--plan",
        &plan,
        "--name-field",
        "e.name",
        "--unit-field",
        "ctx.install_id",
        "--size-from",
        "field:meta.bytes",
        "--stats",
        &stats,
    ];
    let run = trackgate_with_input(&arguments, input.as_bytes());
    run.assert_code(0);
    assert_eq!(run.stdout_text().lines().count(), 1, "91 bytes is over the 90-byte cap");
    let stats: Value = serde_json::from_str(&std::fs::read_to_string(&stats).expect("stats")).expect("JSON");
    assert_eq!(stats["dropped"]["oversize"], 1);
    assert_eq!(stats["malformed"]["first"][0]["message"], "the size field is missing or null");
}

#[test]
fn a_missing_or_null_unit_is_the_empty_string() {
    let directory = scratch_directory("empty_unit");
    let plan = write_file(&directory, "plan.json", RULES_PLAN);
    let core = compiled(RULES_PLAN);
    // Find sampled names whose decision for the empty unit differs from some other unit, so the
    // test would notice a filter that hashed something else for a missing unit.
    let empty_keeps_feed = core.evaluate_for_unit("feed.scrolled", 10, "").decision.is_keep();
    for variant in ["", "\"unit_id\":null,", "\"unit_id\":\"\","] {
        let input = format!("{{{variant}\"event\":\"feed.scrolled\"}}\n");
        let run = trackgate_with_input(&["filter", "--plan", &plan], input.as_bytes());
        run.assert_code(0);
        assert_eq!(!run.stdout.is_empty(), empty_keeps_feed, "unit variant {variant:?}");
    }
    let other_units_differ = (0..100).any(|index| {
        core.evaluate_for_unit("feed.scrolled", 10, &format!("u{index}")).decision.is_keep() != empty_keeps_feed
    });
    assert!(other_units_differ);
}

#[test]
fn reserved_members_in_the_input_are_malformed() {
    let directory = scratch_directory("reserved");
    let plan = write_file(&directory, "plan.json", RULES_PLAN);
    let input = "{\"event\":\"checkout.completed\",\"_tg_priority\":\"P3\"}\n";
    let run = trackgate_with_input(&["filter", "--plan", &plan, "--strict"], input.as_bytes());
    run.assert_code(1);
    assert!(run.stderr.contains("-:1:"), "{}", run.stderr);
    assert!(run.stderr.contains("$._tg_priority is written by the filter"), "{}", run.stderr);
}

#[test]
fn bad_plans_inputs_and_options_have_their_exit_codes() {
    let directory = scratch_directory("failures");
    let plan = write_file(&directory, "plan.json", RULES_PLAN);
    let invalid = write_file(&directory, "invalid.json", "{\"schema\": 1}");
    let run = trackgate(&["filter", "--plan", &invalid]);
    run.assert_code(1);
    assert!(run.stderr.contains("invalid plan"), "{}", run.stderr);
    let missing = path_in(&directory, "missing.ndjson");
    let run = trackgate(&["filter", "--plan", &plan, &missing]);
    run.assert_code(2);
    assert!(run.stderr.contains("missing.ndjson"), "{}", run.stderr);
    trackgate(&["filter", "--plan", &plan, "--name-field", "a..b"]).assert_code(2);
    trackgate(&["filter", "--plan", &plan, "--size-from", "bytes"]).assert_code(2);
    let run = trackgate(&["filter", "--plan", &plan, "--name-field", "id", "--unit-field", "id"]);
    run.assert_code(2);
    assert!(run.stderr.contains("$.id"), "{}", run.stderr);
}

#[test]
fn stats_replace_a_file_whole_and_can_go_to_a_device() {
    let directory = scratch_directory("stats-output");
    let plan = write_file(&directory, "plan.json", RULES_PLAN);
    let lines = mixed_events(50);
    // A regular file is replaced crash-safely: no temporary file is left beside it.
    let stats_path = write_file(&directory, "stats.json", "old contents, not JSON");
    trackgate_with_input(&["filter", "--plan", &plan, "--stats", &stats_path], lines.as_bytes()).assert_code(0);
    let stats: Value = serde_json::from_str(&std::fs::read_to_string(&stats_path).expect("stats")).expect("JSON");
    assert_eq!(stats["offered"], 50);
    let names: Vec<String> = std::fs::read_dir(&directory)
        .expect("lists")
        .map(|entry| entry.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|name| !name.ends_with(".tmp")), "{names:?}");
    // A device is written directly, never renamed over (as root, a rename would replace
    // /dev/null with a regular file).
    trackgate_with_input(&["filter", "--plan", &plan, "--stats", "/dev/null"], lines.as_bytes()).assert_code(0);
    use std::os::unix::fs::FileTypeExt as _;
    assert!(std::fs::metadata("/dev/null").expect("/dev/null").file_type().is_char_device());
}
