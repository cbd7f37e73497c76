//! Plan size limits (`docs/plan.md`): a text over `MAX_PLAN_BYTES` is refused before it is
//! parsed, reading stops at the first event beyond `MAX_EVENTS` (nothing after it is built or
//! even looked at), and a plan at the 500,000-event scale still loads.

use trackgate_core::plan::{MAX_EVENTS, MAX_PLAN_BYTES};
use trackgate_core::{parse_plan, parse_plan_bytes};

#[test]
fn a_text_over_the_byte_limit_is_refused_before_parsing() {
    // Zeroed pages that are never touched: refusing must not read them.
    let bytes = vec![0u8; MAX_PLAN_BYTES + 1];
    let error = parse_plan_bytes(&bytes).unwrap_err();
    assert_eq!(error.diagnostics.len(), 1);
    let diagnostic = &error.diagnostics[0];
    assert_eq!(diagnostic.path, "$");
    assert_eq!(
        diagnostic.message,
        format!(
            "the plan is {} bytes; at most {MAX_PLAN_BYTES} are allowed (docs/plan.md, size limits)",
            MAX_PLAN_BYTES + 1
        )
    );
}

fn events_text(count: usize, rule: &str) -> String {
    let mut text = String::with_capacity(count * (rule.len() + 16));
    for index in 0..count {
        if index > 0 {
            text.push(',');
        }
        text.push_str(&format!("\"e{index}\":{rule}"));
    }
    text
}

#[test]
fn reading_stops_at_the_first_event_beyond_the_limit() {
    // The member after the limit is followed by broken JSON: had the reader gone on, the
    // syntax error would be what is reported.
    let events = events_text(MAX_EVENTS, "0");
    let source = format!("{{\"schema\": 1, \"events\": {{{events},\"over\": [ oops");
    let error = parse_plan(&source).unwrap_err();
    assert_eq!(error.diagnostics.len(), 1, "{:?}", error.diagnostics);
    let diagnostic = &error.diagnostics[0];
    assert_eq!(diagnostic.path, "$.events");
    assert_eq!(diagnostic.offset, Some(source.find("\"over\"").unwrap()));
    assert_eq!(diagnostic.message, format!("more than {MAX_EVENTS} events; at most {MAX_EVENTS} are allowed"));
}

#[test]
fn a_plan_at_the_500000_event_scale_loads() {
    let events = events_text(500_000, "{\"priority\":\"P2\",\"sample\":0.5,\"owner\":\"team-7\"}");
    let source =
        format!("{{\"schema\": 1, \"app\": \"shop\", \"env\": \"prod\", \"version\": 1, \"events\": {{{events}}}}}");
    assert!(source.len() < MAX_PLAN_BYTES);
    let plan = parse_plan(&source).expect("a 500,000-event plan is within the limits").plan;
    assert_eq!(plan.events.len(), 500_000);
}
