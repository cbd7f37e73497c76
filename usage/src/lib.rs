//! trackgate-usage: which registered events anyone reads.
//!
//! Sans-IO: every function takes texts and returns results; the `trackgate usage` command reads
//! the files. The modules, in data-flow order:
//!
//! - [`events`]: the plan's (app, event) pairs and bitsets over them.
//! - [`split`]: SQL files into statements with places; a token scan for unreadable ones.
//! - [`statement`]: parsing one statement, with limits and fallbacks; what it writes.
//! - [`scope`]: scope resolution and predicate propagation within one statement.
//! - [`lineage`]: the catalogue, the jobs' DAG and every table's event set.
//! - [`analysis`]: queries, routing rules and analytics counted per event; `usage.json` and the
//!   evidence.
//! - [`time`]: log timestamps.
//!
//! Everything is conservative: what cannot be resolved counts as reading more, never less, so
//! an unresolved statement can never make an event look unused.
#![deny(missing_docs)]

pub mod analysis;
pub mod events;
pub mod lineage;
pub mod scope;
pub mod split;
pub mod statement;
pub mod time;
