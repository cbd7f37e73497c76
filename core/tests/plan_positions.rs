//! Problem positions are placed in linear time: every diagnostic keeps the line:column it had
//! (columns count characters from the line's start), and a one-line plan with hundreds of
//! thousands of problems is not quadratic. The line index itself (every offset, bounded scans)
//! is tested next to it, in `core/src/json.rs`.

use trackgate_core::parse_plan;

/// The definition of a position: 1-based line, and characters before the offset on its line.
fn reference(source: &str, offset: usize) -> (u32, u32) {
    let before = &source[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |newline| newline + 1);
    (line as u32, before[line_start..].chars().count() as u32 + 1)
}

/// A plan whose events all have a bad priority, on one line (`one_line`) or one per line, with
/// multi-byte characters before each problem so characters and bytes differ.
fn bad_plan(events: usize, one_line: bool) -> String {
    let separator = if one_line { " " } else { "\n  " };
    let events: Vec<String> = (0..events)
        .map(|index| format!("\"e{index}\": {{\"description\": \"größe ✓ {index}\", \"priority\": \"P9\"}}"))
        .collect();
    format!(
        "{{\"schema\": 1, \"app\": \"shop\", \"env\": \"prod\", \"version\": 1, \"events\": {{{separator}{}}}}}",
        events.join(&format!(",{separator}"))
    )
}

#[test]
fn diagnostics_keep_their_character_columns() {
    for one_line in [true, false] {
        let source = bad_plan(50, one_line);
        let error = parse_plan(&source).unwrap_err();
        assert_eq!(error.diagnostics.len(), 50);
        for diagnostic in &error.diagnostics {
            let offset = diagnostic.offset.expect("placed");
            assert_eq!((diagnostic.line, diagnostic.column), reference(&source, offset), "{diagnostic}");
            assert!(source[offset..].starts_with("\"P9\""), "{diagnostic}");
        }
        if one_line {
            let first = &error.diagnostics[0];
            assert_eq!(
                first.to_string(),
                format!(
                    "1:{}: error: $.events[\"e0\"].priority: expected \"P0\" or \"P1\" or \"P2\" or \"P3\", found \"P9\"",
                    reference(&source, first.offset.unwrap()).1
                )
            );
        }
    }
}

/// The figure in `docs/performance.md` (not a timed assertion): run with
/// `cargo test -p trackgate-core --release --test plan_positions -- --ignored --nocapture`.
#[test]
#[ignore = "a measurement, run by hand"]
fn measure_a_one_line_plan_with_300000_problems() {
    let source = bad_plan(300_000, true);
    let started = std::time::Instant::now();
    let error = parse_plan(&source).unwrap_err();
    let elapsed = started.elapsed();
    assert_eq!(error.diagnostics.len(), 300_000);
    println!("{} bytes on one line, 300000 problems placed in {:.2} s", source.len(), elapsed.as_secs_f64());
}
