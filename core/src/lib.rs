//! # trackgate-core
//!
//! The engine that decides, on the device and before upload, which analytics events may leave.
//!
//! A JSON [`Plan`] (the allowlist and its rules) is read and validated by [`parse_plan`], which
//! reports every problem with its JSON path and line:column. [`CompiledPlan::compile`] turns it
//! into flat tables, and an [`Engine`] answers [`Engine::decide`] for each event with
//! [`Decision::Keep`] (and a sampling weight) or [`Decision::Drop`] (and a [`DropReason`]).
//!
//! Guarantees: the decision paths never lock and never panic, and allocate only on a thread's
//! first decision under new rules (its per-thread lane, `engine/lane.rs`); plans swap
//! atomically while other threads decide; every decision is counted once in a [`DropReport`].
//! The crate does no I/O and starts no threads; time is injected through [`Clock`].
//!
//! ```
//! use trackgate_core::{parse_plan, CompiledPlan, Decision, DropReason, Engine, EngineOptions};
//!
//! let plan = parse_plan(r#"{
//!     "schema": 1, "app": "shop", "env": "prod", "version": 1,
//!     "events": {
//!         "checkout.completed": {"priority": "P0"},
//!         "legacy.banner_seen": {"priority": "P3", "status": "retired"}
//!     }
//! }"#).expect("valid plan");
//! let engine = Engine::new(
//!     CompiledPlan::compile(&plan.plan).expect("compiles"),
//!     EngineOptions { unit_id: Some("install-1".into()), ..EngineOptions::default() },
//! ).expect("engine");
//!
//! assert_eq!(engine.decide("checkout.completed", 120), Decision::Keep { weight: 1.0 });
//! assert_eq!(engine.decide("legacy.banner_seen", 80), Decision::Drop { reason: DropReason::Retired });
//! assert_eq!(engine.decide("typo.evnt", 80), Decision::Drop { reason: DropReason::Unregistered });
//!
//! let report = engine.take_report();
//! assert_eq!((report.offered, report.kept, report.dropped.total()), (3, 1, 2));
//! ```

#![deny(missing_docs)]
#![deny(unsafe_code)]

pub mod civil;
mod clock;
mod compile;
mod counters;
mod diagnostic;
mod engine;
mod explain;
mod fast_plan;
mod fixed;
mod json;
pub mod name;
pub mod plan;
mod rate_limit;
mod reason;
mod report;
mod report_table;
pub mod sampling;
mod splitmix;
mod unregistered;
mod validate;

pub use clock::{Clock, ManualClock, SystemClock};
pub use compile::{CompileError, CompiledPlan, EventId, EventSummary, UnitEvaluation};
pub use diagnostic::{Diagnostic, Severity};
pub use engine::{
    generate_install_id, uuid_v4_text, Decider, Engine, EngineError, EngineOptions, PlanChange, ResolveError,
    StaleEventId, DEFAULT_UNREGISTERED_CAPACITY, MAX_COUNTED_EVENT_BYTES, MAX_UNIT_ID_BYTES,
};
pub use explain::Explanation;
pub use plan::{Plan, Priority};
pub use reason::{Decision, DropReason};
pub use report::{DropReport, EventReport, ReasonCounts, UnregisteredReport};
pub use splitmix::SplitMix64;
pub use validate::{parse_plan, parse_plan_bytes, parse_plan_fast, parse_plan_spanned, PlanError, ValidatedPlan};

/// The README's examples, compiled and run as doc tests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
