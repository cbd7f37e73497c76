//! The governance cost report: its data model ([`model`]), input data ([`inputs`]), thresholds
//! ([`rules`]) and computation ([`mod@compute`]). `trackgate report` reads the files and renders the
//! result; `trackgate propose` reads the JSON back.

pub mod compute;
pub mod inputs;
pub mod model;
pub mod rules;

pub use compute::{compute, ReportInputs};
pub use inputs::{Counts, EventUsage, NameCounts, Prices, Usage, WindowCounts};
pub use model::*;
pub use rules::Thresholds;
