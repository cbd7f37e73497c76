//! Server-side enforcement of a trackgate plan, for events that reach the backend without the
//! SDK: the NDJSON line filter behind `trackgate filter`, its counts and stats file, and the
//! Spark SQL generator behind `trackgate export spark`.
//!
//! Both apply the device's rules in the device's order, except rate limits (token buckets are
//! per-device state). The filter calls the core's own `CompiledPlan::evaluate_for_unit`; the
//! Spark query is generated from the same compiled tables and checked against the filter row for
//! row (`tests/spark/`). Which rule applies where: `docs/etl.md`.
//!
//! The crate is sans-IO so it can be embedded anywhere lines arrive (the CLI, a JVM stream job
//! through FFI): it reads no files, starts no threads, reads no clock and never prints. Callers
//! hand it bytes and get bytes and counts back; errors are typed ([`FieldError`], [`SparkError`],
//! [`StatsMergeError`]) and worded for a library, to be mapped once at the caller's boundary.
//!
//! ```
//! use trackgate_core::{parse_plan, CompiledPlan};
//! use trackgate_etl::{FieldConfig, FilterCounts, FilterStats, LineFilter};
//!
//! let plan = parse_plan(r#"{"schema":1,"app":"shop","env":"prod","version":3,
//!     "events":{"checkout.completed":{"priority":"P0"}}}"#).unwrap().plan;
//! let compiled = CompiledPlan::compile(&plan).unwrap();
//! let filter = LineFilter::new(&compiled, &FieldConfig::default()).unwrap();
//!
//! let block = b"{\"event\":\"checkout.completed\",\"unit_id\":\"u1\"}\n{\"event\":\"debug.trace\"}\n";
//! let mut kept = Vec::new();
//! let mut counts = FilterCounts::new(100, 10_000);
//! filter.filter_block(block, &mut kept, &mut counts);
//! assert_eq!(kept, b"{\"event\":\"checkout.completed\",\"unit_id\":\"u1\",\"_tg_priority\":\"P0\"}\n");
//!
//! let stats = FilterStats::from_counts(&compiled, None, "-".to_owned(), counts);
//! assert_eq!((stats.lines, stats.kept, stats.dropped.unregistered), (2, 1, 1));
//! ```

#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod fields;
pub mod filter;
pub mod spark;
pub mod stats;

#[cfg(test)]
mod test_support;

pub use fields::{FieldConfig, FieldError, FieldPath, LineProblem, SizeSource, RESERVED_MEMBERS};
pub use filter::{ByPriority, KeptOutput, LineFilter, LineOutcome};
pub use spark::{Selection, SparkError, SparkExport, PYSPARK_VIEW};
pub use stats::{
    EventStats, FilterCounts, FilterStats, LineCounts, MalformedLine, MalformedSummary, NameTallies, PlanIdentity,
    PriorityTotals, StatsMergeError, NO_PRIORITY_KEY, STATS_FORMAT,
};
