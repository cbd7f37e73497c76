//! A [`DropReport`] as a table for people (`Display`): the one formatter every binding calls
//! (`report_table` in the FFI), so a report reads the same in Kotlin, Swift, Python and Rust.
//! The JSON (serde) stays the format machines read; this text may change between versions.
//!
//! Pure formatting: no I/O; it allocates only small cells (reasons, weighted counts). No float
//! formatter (`crate::fixed`).

use std::fmt::{self, Write as _};

use crate::civil::UtcTime;
use crate::fixed::Fixed;
use crate::reason::DropReason;
use crate::report::{DropReport, ReasonCounts};

/// Widest name column, in characters; longer names are cut with `…`.
const MAX_NAME_COLUMN: usize = 48;

/// `oversize 2, sampled_out 1`, or `-` when nothing was dropped.
fn reasons(counts: &ReasonCounts) -> String {
    let mut text = String::new();
    for reason in DropReason::ALL {
        let count = counts.get(reason);
        if count > 0 {
            let separator = if text.is_empty() { "" } else { ", " };
            let _ = write!(text, "{separator}{reason} {count}");
        }
    }
    if text.is_empty() {
        text.push('-');
    }
    text
}

/// A name padded or cut to `width` characters.
struct Cell<'a>(&'a str, usize);

impl fmt::Display for Cell<'_> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Cell(name, width) = *self;
        if name.chars().count() <= width {
            return write!(formatter, "{name:<width$}");
        }
        let head: String = name.chars().take(width.saturating_sub(1)).collect();
        write!(formatter, "{head}…")
    }
}

impl fmt::Display for DropReport {
    /// The window and totals, one row per registered event (kept, bytes, weighted estimate,
    /// dropped and why; shadow plans also show would-be drops), then the unregistered names.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let millis = self.window_end_unix_ms.saturating_sub(self.window_start_unix_ms);
        let (seconds, tenths) = (millis / 1000, millis % 1000 / 100);
        writeln!(
            formatter,
            "{}/{} plan version {}{}, {} to {} ({seconds}.{tenths} s)",
            self.app,
            self.env,
            self.plan_version,
            if self.shadow { " (shadow)" } else { "" },
            UtcTime(self.window_start_unix_ms / 1000),
            UtcTime(self.window_end_unix_ms / 1000),
        )?;
        writeln!(
            formatter,
            "offered {}, kept {} ({} bytes), dropped {} ({} bytes): {}",
            self.offered,
            self.kept,
            self.kept_bytes,
            self.dropped.total(),
            self.dropped_bytes,
            reasons(&self.dropped)
        )?;
        if self.shadow_dropped.total() > 0 {
            writeln!(formatter, "shadow plan kept, would have dropped: {}", reasons(&self.shadow_dropped))?;
        }
        let names =
            self.events.iter().map(|event| &event.name).chain(self.unregistered.iter().map(|entry| &entry.name));
        let width = names.map(|name| name.chars().count()).max().unwrap_or(0).clamp(5, MAX_NAME_COLUMN);
        if !self.events.is_empty() {
            write!(
                formatter,
                "\n{:<width$}  prio  {:>8}  {:>10}  {:>10}  {:>8}  {:>10}  dropped by",
                "event", "kept", "kept bytes", "weighted", "dropped", "drop bytes"
            )?;
            if self.shadow {
                formatter.write_str("  |  shadow would drop")?;
            }
            for event in &self.events {
                let priority = event.priority.map_or("-", |priority| priority.as_str());
                write!(
                    formatter,
                    "\n{}  {priority:<4}  {:>8}  {:>10}  {:>10}  {:>8}  {:>10}  {}",
                    Cell(&event.name, width),
                    event.kept,
                    event.kept_bytes,
                    Fixed { value: event.kept_weighted, decimals: 1, trim: false },
                    event.dropped.total(),
                    event.dropped_bytes,
                    reasons(&event.dropped)
                )?;
                if self.shadow {
                    write!(formatter, "  |  {}", reasons(&event.shadow_dropped))?;
                }
            }
            formatter.write_char('\n')?;
        }
        if !self.unregistered.is_empty() || self.unregistered_overflow > 0 {
            write!(
                formatter,
                "\n{:<width$}  {:>8}  {:>8}  {:>13}  {:>10}",
                "unregistered", "kept", "dropped", "shadow_dropped", "bytes"
            )?;
            for entry in &self.unregistered {
                write!(
                    formatter,
                    "\n{}  {:>8}  {:>8}  {:>13}  {:>10}",
                    Cell(&entry.name, width),
                    entry.kept,
                    entry.dropped,
                    entry.shadow_dropped,
                    entry.bytes
                )?;
            }
            if self.unregistered_overflow > 0 {
                write!(
                    formatter,
                    "\n(and {} more occurrences of names past the table's capacity)",
                    self.unregistered_overflow
                )?;
            }
            formatter.write_char('\n')?;
        }
        Ok(())
    }
}
