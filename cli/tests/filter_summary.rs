//! `trackgate filter` ends with a one-line summary on stderr (lines, kept, dropped, malformed)
//! whether or not stderr is a terminal, and a warning line when malformed lines were skipped;
//! stdout carries only the kept events, byte for byte as before.

mod etl_common;

use etl_common::{scratch_directory, trackgate_with_input, write_file, RULES_PLAN};

#[test]
fn a_piped_run_summarises_on_stderr_and_warns_about_malformed_lines() {
    let directory = scratch_directory("filter_summary");
    let plan = write_file(&directory, "plan.json", RULES_PLAN);
    let input = concat!(
        "{\"event\":\"checkout.completed\",\"unit_id\":\"u1\"}\n",
        "{\"event\":\"legacy.banner\",\"unit_id\":\"u1\"}\n",
        "not json at all\n",
        "{\"event\":\"cart.item_added\",\"unit_id\":\"u2\"}\n",
    );
    // stderr is a pipe here, not a terminal.
    let run = trackgate_with_input(&["filter", "--plan", &plan, "--threads", "1"], input.as_bytes());
    run.assert_code(0);
    assert_eq!(
        run.stdout_text(),
        concat!(
            "{\"event\":\"checkout.completed\",\"unit_id\":\"u1\",\"_tg_priority\":\"P0\"}\n",
            "{\"event\":\"cart.item_added\",\"unit_id\":\"u2\",\"_tg_priority\":\"P1\"}\n",
        ),
        "stdout holds the kept events only"
    );
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{}", run.stderr);
    assert_eq!(lines[0], "trackgate filter: -: 4 lines, 2 kept, 1 dropped, 1 malformed");
    assert!(
        lines[1].starts_with("trackgate filter: warning: 1 malformed line(s) skipped; first at -:3:2: invalid JSON"),
        "{}",
        lines[1]
    );

    let clean = trackgate_with_input(&["filter", "--plan", &plan], b"{\"event\":\"checkout.completed\"}\n");
    clean.assert_code(0);
    assert_eq!(clean.stderr, "trackgate filter: -: 1 lines, 1 kept, 0 dropped, 0 malformed\n");
}
