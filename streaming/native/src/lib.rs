//! # trackgate-stream
//!
//! The server-side native library behind the Flink job (`streaming/flink/`): it owns, for one
//! parallel task, the active signed plan and the line filter, and guarantees that
//!
//! - an envelope is judged by the delivery crate's own [`verify_envelope`] (trusted keys, scope,
//!   anti-rollback floor, expiry and issue time against trusted time), exactly as a device
//!   judges it; a refused envelope changes nothing;
//! - a block of lines is filtered by the ETL crate's own [`LineFilter::filter_block`], so the
//!   stream decides, tags and counts exactly as `trackgate filter` on the same bytes;
//! - counts are never attributed to the wrong plan: a plan is only swapped once the counts of
//!   the previous one were taken ([`StreamError::CountsPending`]).
//!
//! It is sans-IO (no files, threads, clocks or printing; time is passed in) and is not the
//! mobile library: it links the line filter, which apps never need. [`ffi`] is the C ABI the
//! JVM calls through JNA: one call per block, results packed in one buffer.

#![deny(missing_docs)]

mod config;
pub mod ffi;

use std::sync::Arc;

use trackgate_delivery::{verify_envelope, EnvelopeHeader, Floor, Verified, VerifyContext, VerifyError};
use trackgate_etl::{ByPriority, FilterCounts, FilterStats, KeptOutput, LineFilter};

pub use config::{StreamConfig, DEFAULT_STREAM_MAX_ENVELOPE_BYTES};

/// Why a call could not do its work. Refused envelopes are not errors ([`Offer::Refused`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StreamError {
    /// The configuration is invalid.
    #[error("configuration: {0}")]
    Config(String),
    /// Lines arrived before any plan was accepted.
    #[error("no plan has been accepted yet")]
    NoPlan,
    /// A new plan was offered while counts under the active one were not taken yet.
    #[error("counts under plan version {0} must be taken before another plan is installed")]
    CountsPending(u64),
    /// A stats record handed back for merging is not valid filter stats.
    #[error("stats: {0}")]
    Stats(String),
}

/// The plan a task decides with.
#[derive(Debug)]
struct Active {
    filter: LineFilter<'static>,
    header: EnvelopeHeader,
    floor: Floor,
}

/// What became of an offered envelope.
#[derive(Debug)]
pub enum Offer {
    /// A newer plan passed every check and decides from the next block on.
    Installed(EnvelopeHeader),
    /// The very bytes already active.
    AlreadyCurrent(u64),
    /// Refused; the active plan (if any) is unchanged.
    Refused(VerifyError),
}

/// Counts of one filtered block, beside its kept lines.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BlockCounts {
    /// Lines in the block.
    pub lines: u64,
    /// Blank lines.
    pub blank: u64,
    /// Malformed lines.
    pub malformed: u64,
}

/// The kept lines of one block, one buffer per destination ([`ByPriority`]), and where each
/// line starts in its buffer: the filter asks for a line's buffer once and then appends the
/// line whole ([`KeptOutput`]), so the buffer's length at that moment is the line's start. The
/// C ABI sends the lines' lengths, so the JVM cuts records without scanning for newlines.
#[derive(Debug, Default)]
struct KeptLines {
    buffers: ByPriority,
    starts: [Vec<u32>; ByPriority::COUNT],
}

impl KeptOutput for KeptLines {
    #[inline]
    fn buffer_for(&mut self, priority: Option<trackgate_core::Priority>) -> &mut Vec<u8> {
        let index = ByPriority::index(priority);
        let buffer = &mut self.buffers.0[index];
        // A buffer over 4 GiB is refused by the C ABI before any start is read.
        self.starts[index].push(u32::try_from(buffer.len()).unwrap_or(u32::MAX));
        buffer
    }
}

/// One parallel task's enforcement state: configuration, active plan, counts since they were
/// last taken, and the kept lines of the last block.
#[derive(Debug)]
pub struct StreamFilter {
    config: StreamConfig,
    active: Option<Active>,
    /// The latest `issued_at` accepted: time never goes back below a signed time.
    trusted_floor: u64,
    counts: FilterCounts,
    output: KeptLines,
}

impl StreamFilter {
    /// A task with no plan yet.
    pub fn new(config: StreamConfig) -> StreamFilter {
        let counts = FilterCounts::new(config.malformed_listed, config.track_names);
        StreamFilter { config, active: None, trusted_floor: 0, counts, output: KeptLines::default() }
    }

    /// The active plan's signed header.
    pub fn active(&self) -> Option<&EnvelopeHeader> {
        self.active.as_ref().map(|active| &active.header)
    }

    /// Judges `envelope` at `now` (Unix seconds, from the host's clock; trusted time is the later
    /// of it and the newest signed `issued_at` accepted) and installs it when it passes.
    /// `restoring` marks an envelope read back from the job's own checkpoint: every check but
    /// expiry applies (the job accepted it before; like the app-bundled plan, its age is not
    /// the network's doing).
    pub fn offer(&mut self, envelope: &[u8], now: u64, restoring: bool) -> Result<Offer, StreamError> {
        if let Some(active) = &self.active {
            if self.counts.lines.lines > 0 {
                return Err(StreamError::CountsPending(active.header.plan_version));
            }
        }
        let context = VerifyContext {
            keyring: &self.config.keyring,
            app: &self.config.app,
            env: &self.config.env,
            floor: self.active.as_ref().map(|active| active.floor),
            now: now.max(self.trusted_floor),
            check_time: !restoring,
            policy: self.config.policy,
        };
        let verified = match verify_envelope(envelope, &context) {
            Ok(Verified::New(verified)) => verified,
            Ok(Verified::AlreadyCurrent { version }) => return Ok(Offer::AlreadyCurrent(version)),
            Err(error) => return Ok(Offer::Refused(error)),
        };
        let verified = *verified;
        // The field configuration was checked when the first filter was made from it; a clash
        // here would be a configuration error all the same.
        let filter = LineFilter::owning(Arc::new(verified.compiled), &self.config.fields)
            .map_err(|error| StreamError::Config(error.to_string()))?;
        self.trusted_floor = self.trusted_floor.max(verified.header.issued_at);
        let header = verified.header.clone();
        self.active = Some(Active {
            filter,
            header: verified.header,
            floor: Floor { version: header.plan_version, digest: verified.digest },
        });
        Ok(Offer::Installed(header))
    }

    /// Filters a block of whole lines (the ETL crate's block contract) under the active plan;
    /// the kept, tagged lines are in [`kept`](Self::kept) until the next block.
    pub fn filter_block(&mut self, block: &[u8]) -> Result<BlockCounts, StreamError> {
        let active = self.active.as_ref().ok_or(StreamError::NoPlan)?;
        for (buffer, starts) in self.output.buffers.0.iter_mut().zip(&mut self.output.starts) {
            buffer.clear();
            starts.clear();
        }
        let before = (self.counts.lines.lines, self.counts.lines.blank_lines, self.counts.lines.malformed.count);
        active.filter.filter_block(block, &mut self.output, &mut self.counts);
        Ok(BlockCounts {
            lines: self.counts.lines.lines - before.0,
            blank: self.counts.lines.blank_lines - before.1,
            malformed: self.counts.lines.malformed.count - before.2,
        })
    }

    /// The kept lines of the last block, one buffer per priority ([`ByPriority`]), each line
    /// tagged and newline-terminated.
    pub fn kept(&self) -> &ByPriority {
        &self.output.buffers
    }

    /// Where each kept line of the last block starts in its [`kept`](Self::kept) buffer, per
    /// destination, in order.
    pub fn kept_line_starts(&self) -> &[Vec<u32>; ByPriority::COUNT] {
        &self.output.starts
    }

    /// Whether lines were counted since the counts were last taken.
    pub fn has_counts(&self) -> bool {
        self.counts.lines.lines > 0
    }

    /// The counts since they were last taken, as a filter-stats record labelled `window` and
    /// `input`; the counts start again from zero.
    pub fn take_stats(&mut self, window: Option<String>, input: String) -> Result<FilterStats, StreamError> {
        let active = self.active.as_ref().ok_or(StreamError::NoPlan)?;
        let fresh = FilterCounts::new(self.config.malformed_listed, self.config.track_names);
        let counts = std::mem::replace(&mut self.counts, fresh);
        Ok(FilterStats::from_counts(active.filter.plan(), window, input, counts))
    }
}

/// Merges two filter-stats records (JSON) of the same plan and window: `later` after `earlier`.
pub fn merge_stats(earlier: &[u8], later: &[u8]) -> Result<FilterStats, StreamError> {
    let parse = |which: &str, text: &[u8]| -> Result<FilterStats, StreamError> {
        serde_json::from_slice(text).map_err(|error| StreamError::Stats(format!("{which} record: {error}")))
    };
    let mut merged = parse("first", earlier)?;
    merged.merge(&parse("second", later)?).map_err(|error| StreamError::Stats(error.to_string()))?;
    Ok(merged)
}
