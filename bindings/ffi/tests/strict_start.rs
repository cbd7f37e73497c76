//! `GateOptions.strict`: a gate whose bundled plan or store is refused fails to start with a
//! typed error naming the cause, instead of starting on the fail policy; without it (the
//! production default) the same gate starts and keeps the cause in `status().last_error`.

mod common;

use common::{options, plan, standard_plan, Publisher, TempDir};
use trackgate_ffi::{Decision, DropReason, Gate, GateError, PlanSource};

/// `Gate::new` with strict start, expecting the error.
fn strict_error(mut options: trackgate_ffi::GateOptions) -> GateError {
    options.strict = true;
    match Gate::new(options) {
        Ok(_) => panic!("strict start accepted a refused configuration"),
        Err(error) => error,
    }
}

#[test]
fn plan_json_passed_as_the_bundled_plan_names_bad_magic_and_the_fix() {
    let publisher = Publisher::new(1);
    let store = TempDir::new("strict-json");
    let mut options = options(&publisher, &store);
    options.bundled_plan = Some(standard_plan(3).into_bytes());
    let error = strict_error(options.clone());
    assert!(matches!(error, GateError::BundledPlanRefused { kind: "malformed", .. }), "{error:?}");
    let text = error.to_string();
    assert!(
        text.starts_with("Gate(options): GateOptions.bundled_plan refused (malformed): malformed envelope: byte 0: "),
        "{text}"
    );
    assert!(text.contains("(bad magic)"), "{text}");
    assert!(text.contains("these bytes are plan JSON"), "{text}");

    // Production default: starts on the fail policy, the cause only in the status.
    let gate = Gate::new(options).expect("non-strict start never fails on a bundled plan");
    let status = gate.status();
    assert_eq!(status.source, PlanSource::FailPolicy);
    assert!(status.last_error.unwrap_or_default().contains("bad magic"));
}

#[test]
fn a_key_from_another_keypair_names_the_unknown_key() {
    let (publisher, stranger) = (Publisher::new(1), Publisher::new(2));
    let store = TempDir::new("strict-key");
    let mut options = options(&publisher, &store);
    options.bundled_plan = Some(stranger.seal(&standard_plan(3)));
    let error = strict_error(options);
    assert!(matches!(error, GateError::BundledPlanRefused { kind: "unknown_key", .. }), "{error:?}");
    let text = error.to_string();
    assert!(text.contains("is by unknown key"), "{text}");
    assert!(text.contains("not in GateOptions.trusted_keys"), "{text}");
}

#[test]
fn a_wrong_app_names_both_scopes() {
    let publisher = Publisher::new(1);
    let store = TempDir::new("strict-scope");
    let mut options = options(&publisher, &store);
    options.app = "shop-beta".into();
    options.bundled_plan = Some(publisher.seal(&standard_plan(3)));
    let error = strict_error(options);
    assert!(matches!(error, GateError::BundledPlanRefused { kind: "wrong_scope", .. }), "{error:?}");
    assert!(error.to_string().contains("plan is for shop/prod, this device runs shop-beta/prod"), "{error}");
}

#[test]
fn an_unusable_store_is_a_store_problem() {
    let publisher = Publisher::new(1);
    let store = TempDir::new("strict-store");
    std::fs::write(&store.path, b"a file, not a directory").expect("write the blocking file");
    let mut options = options(&publisher, &store);
    options.bundled_plan = Some(publisher.seal(&standard_plan(3)));
    let error = strict_error(options);
    assert!(matches!(error, GateError::StoreProblem { .. }), "{error:?}");
    assert!(error.to_string().starts_with("Gate(options): GateOptions.store_directory: "), "{error}");
}

#[test]
fn a_good_configuration_starts_strictly_and_so_does_one_without_a_bundled_plan() {
    let publisher = Publisher::new(1);
    let store = TempDir::new("strict-good");
    let mut options = options(&publisher, &store);
    options.strict = true;
    options.bundled_plan = Some(publisher.seal(&plan(5, "", r#""checkout.completed": {"priority": "P0"}"#)));
    let gate = Gate::new(options.clone()).expect("a verified bundled plan starts");
    assert_eq!((gate.status().source, gate.status().version), (PlanSource::Bundled, 5));
    assert_eq!(gate.decide("checkout.completed".into(), 1), Decision::Keep { weight: 1.0 });
    assert_eq!(gate.decide("typo.evnt".into(), 1), Decision::Drop { reason: DropReason::Unregistered });

    // Nothing bundled and nothing cached: the fail policy is the configuration, not a problem.
    let empty = TempDir::new("strict-none");
    let mut options = common::options(&publisher, &empty);
    options.strict = true;
    let gate = Gate::new(options).expect("no bundled plan is not a refusal");
    assert_eq!(gate.status().source, PlanSource::FailPolicy);
}
