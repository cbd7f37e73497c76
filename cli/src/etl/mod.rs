//! Server-side enforcement of a plan, for events that reach the backend: `trackgate filter`
//! (NDJSON streams) and `trackgate export spark` (SQL for warehouse jobs).
//!
//! Both apply the same rules as the device, in the same order, except rate limits (token
//! buckets are per-device state). The filter calls the core's `evaluate_for_unit` itself; the
//! export writes the same rules as Spark SQL and is checked against the filter row for row
//! (`tests/spark/`). Which rule applies where: `docs/etl.md`.

pub mod export_spark;
pub mod fields;
pub mod filter;
pub mod input;
pub mod stats;
