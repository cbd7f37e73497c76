//! `Gate::explain`, `Gate::explain_text` and `TakenReport::table`: the core's explanation and
//! texts through the boundary, counting nothing.

mod common;

use common::{gate_with_plan, standard_plan, Publisher, TempDir};
use trackgate_ffi::{Decision, DropReason, Priority};

#[test]
fn explain_names_the_rule_and_its_values_and_counts_nothing() {
    let publisher = Publisher::new(1);
    let store = TempDir::new("explain");
    let gate = gate_with_plan(&publisher, &store, &standard_plan(3));
    for (name, size) in [("checkout.completed", 10), ("photo.uploaded", 5000), ("scroll.depth", 1), ("typo.evnt", 1)] {
        assert_eq!(gate.explain(name.into(), size).decision, gate.decide(name.into(), size), "{name}");
    }
    let oversize = gate.explain("photo.uploaded".into(), 5000);
    assert_eq!(oversize.plan_version, 3);
    assert_eq!(oversize.refused_by, Some(DropReason::Oversize));
    assert_eq!((oversize.max_bytes, oversize.size_bytes, oversize.priority), (Some(1000), 5000, Some(Priority::P1)));
    let text = gate.explain_text("photo.uploaded".into(), 5000);
    assert!(text.contains("5000 bytes, cap 1000  <- refused here"), "{text}");

    let sampled = gate.explain("scroll.depth".into(), 1);
    assert_eq!((sampled.sample_rate_ppm, sampled.refused_by), (Some(0), Some(DropReason::SampledOut)));
    assert!(sampled.unit_value.is_some());

    // The bucket (burst 1) is full and stays full however often it is explained.
    for _ in 0..3 {
        assert_eq!(gate.explain("search.typed".into(), 1).tokens_left, Some(1));
    }
    assert_eq!(gate.decide("search.typed".into(), 1), Decision::Keep { weight: 1.0 });
    assert_eq!(gate.explain("search.typed".into(), 1).tokens_left, Some(0));

    // Only the five decide calls above and the one decide of search.typed were counted.
    let taken = gate.take_report();
    assert_eq!(taken.report.offered, 5);
    let table = taken.table;
    assert!(table.starts_with("shop/prod plan version 3, "), "{table}");
    assert!(table.contains("offered 5, kept 2"), "{table}");
    assert!(table.lines().any(|line| line.starts_with("typo.evnt ")), "{table}");
}
