//! Fixtures shared by the crate's unit tests: a plan with every kind of rule and lines covering
//! every way a line can go (kept, sampled, dropped, blank, malformed).

use trackgate_core::{parse_plan, CompiledPlan};

/// Sampling at 50 % (weight exactly 2, so weighted sums stay whole), a retired name, a size
/// cap, unregistered names dropped.
pub const PLAN: &str = r#"{"schema":1,"app":"shop","env":"prod","version":4,"sampling_salt":"s",
    "defaults":{"max_bytes":120},
    "events":{"p.zero":{"priority":"P0"},"p.half":{"priority":"P2","sample":0.5},
              "p.old":{"priority":"P1","status":"retired"},"p.low":{"priority":"P3"}}}"#;

/// The compiled [`PLAN`], or with `edit` applied to its text first.
pub fn compiled(edit: impl Fn(&str) -> String) -> CompiledPlan {
    CompiledPlan::compile(&parse_plan(&edit(PLAN)).expect("the test plan is valid").plan).expect("it compiles")
}

/// Lines of every kind, `\n`-separated, the last one without its newline.
pub fn events() -> Vec<u8> {
    let mut text = Vec::new();
    for index in 0..40 {
        let line = match index % 13 {
            0 => format!(r#"{{"event":"p.zero","unit_id":"u{index}","n":[1,{{"x":null}}]}}"#),
            1 | 2 => format!(r#"{{"event":"p.half","unit_id":"u{index}"}}"#),
            3 => format!(r#"{{"event":"p\u002ehalf","unit_id":{index}}}"#),
            4 => format!(r#"{{"event":"p.old","unit_id":"u{index}"}}"#),
            5 => format!(r#"{{"event":"promo.clicked{}","unit_id":"u{index}"}}"#, index % 2),
            6 => format!(r#"{{"event":"p.low","pad":"{}"}}"#, "x".repeat(150)),
            7 => "   \t".to_owned(),
            8 => format!("{{\"event\":\"p.low\",\"unit_id\":\"u{index}\"}}  \r"),
            9 => format!(r#"{{"event":"p.zero","unit_id":"u{index}",}}"#),
            10 => r#"{"event":7}"#.to_owned(),
            11 => r#"{"event":"p.zero","_tg_weight":2}"#.to_owned(),
            _ => String::new(),
        };
        text.extend_from_slice(line.as_bytes());
        if index % 13 == 12 {
            text.extend_from_slice(b"{\"event\":\"bad \xff utf8\"}");
        }
        text.push(b'\n');
    }
    text.extend_from_slice(br#"{"event":"p.zero","unit_id":"last"}"#);
    text
}

/// The lines of a block, as the block contract cuts them.
pub fn lines_of(block: &[u8]) -> Vec<&[u8]> {
    if block.is_empty() {
        return Vec::new();
    }
    block.strip_suffix(b"\n").unwrap_or(block).split(|byte| *byte == b'\n').collect()
}
