//! Server-side enforcement of a plan, for events that reach the backend: `trackgate filter`
//! (NDJSON streams) and `trackgate export spark` (SQL for warehouse jobs).
//!
//! The commands only: arguments, files, gzip, threads, progress and messages. The line filter,
//! its counts and stats file, and the Spark SQL generator are the sans-IO library
//! `trackgate-etl` (`etl/`), which maps to these commands' messages here. Which rule applies
//! where: `docs/etl.md`.

pub mod export_spark;
pub mod filter;
pub mod input;
