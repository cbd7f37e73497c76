//! Problem positions are placed in linear time: every diagnostic keeps the line:column it had
//! (columns count characters from the line's start), and a lookup scans a bounded number of
//! bytes whatever the line's length, so a one-line plan with hundreds of thousands of problems
//! is not quadratic.

use trackgate_core::{parse_plan, LineIndex, COLUMN_BLOCK};

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

#[test]
fn every_offset_of_a_mixed_text_matches_the_definition() {
    let source = "ab\u{e9}c\n\u{1F600}x y\n\n\u{4E2D}\u{6587}".repeat(40);
    let index = LineIndex::new(&source);
    for offset in (0..=source.len()).filter(|&offset| source.is_char_boundary(offset)) {
        assert_eq!(index.line_column(offset), reference(&source, offset), "offset {offset}");
    }
}

#[test]
fn a_lookup_scans_a_bounded_number_of_bytes_on_a_long_line() {
    // 1.5 MB on one line, with multi-byte characters throughout.
    let source = "{\"k\": \"\u{e9}\u{e9}\u{e9}\"} ".repeat(100_000);
    let index = LineIndex::new(&source);
    let mut total_scanned = 0;
    let mut lookups = 0;
    for offset in (0..source.len()).step_by(997).filter(|&offset| source.is_char_boundary(offset)) {
        let (line, column, scanned) = index.line_column_and_cost(offset);
        assert_eq!(line, 1);
        assert!(scanned < 2 * COLUMN_BLOCK, "offset {offset} scanned {scanned} bytes");
        if offset % (997 * 50) == 0 {
            assert_eq!((line, column), reference(&source, offset));
        }
        total_scanned += scanned;
        lookups += 1;
    }
    // Quadratic placing would scan about half the line per lookup.
    assert!(total_scanned < lookups * 2 * COLUMN_BLOCK);
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
