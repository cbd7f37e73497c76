//! The summary as text tables that fit in 100 columns.

use std::fmt::{self, Write as _};

use crate::format::{self, change, fit, percent};

use super::summary::{reason_shares, share, Summary};

pub(super) fn render_text(summary: &Summary) -> Result<String, fmt::Error> {
    let mut out = String::new();
    write_header(&mut out, summary)?;
    write_outcome(&mut out, summary)?;
    write_bytes(&mut out, summary)?;
    write_top_droppers(&mut out, summary)?;
    write_names_seen(&mut out, summary)?;
    write_sampling_check(&mut out, summary)?;
    Ok(out)
}

pub(super) fn write_header(out: &mut String, summary: &Summary) -> fmt::Result {
    let plan = &summary.plan;
    writeln!(
        out,
        "trackgate demo: plan {}/{} version {} ({} events, {})",
        plan.app, plan.env, plan.version, plan.events, plan.source
    )?;
    let mut rules = Vec::new();
    if let Some(level) = plan.shed_below {
        rules.push(format!("shedding below {level}"));
    }
    if !plan.enabled {
        rules.push("kill switch on".to_owned());
    }
    if plan.shadow {
        rules.push("shadow mode: everything is kept, would-be drops are counted".to_owned());
    }
    if !rules.is_empty() {
        writeln!(out, "Plan rules: {}", rules.join("; "))?;
    }
    writeln!(out, "Simulated {} devices with seed {}.", format::count(summary.devices), summary.seed)
}

pub(super) fn write_outcome(out: &mut String, summary: &Summary) -> fmt::Result {
    writeln!(out)?;
    writeln!(out, "{:<26} {:>15} {:>8}", "Events", "count", "share")?;
    let row = |out: &mut String, label: &str, count: u64| {
        writeln!(out, "{label:<26} {:>15} {:>8}", format::count(count), percent(share(count, summary.offered)))
    };
    row(out, "  offered", summary.offered)?;
    row(out, "  kept", summary.kept)?;
    row(out, "  dropped", summary.dropped_total)?;
    for reason in &summary.drop_reasons {
        row(out, &format!("    {}", reason.reason), reason.count)?;
    }
    if summary.plan.shadow {
        row(out, "  would drop (shadow)", summary.shadow_dropped.total())?;
        for reason in reason_shares(&summary.shadow_dropped, summary.offered) {
            row(out, &format!("    {}", reason.reason), reason.count)?;
        }
    }
    Ok(())
}

pub(super) fn write_bytes(out: &mut String, summary: &Summary) -> fmt::Result {
    writeln!(out)?;
    writeln!(out, "{:<26} {:>15} {:>8}", "Bytes", "size", "share")?;
    let row = |out: &mut String, label: &str, bytes: u64| {
        writeln!(out, "{label:<26} {:>15} {:>8}", format::bytes(bytes), percent(share(bytes, summary.bytes_offered)))
    };
    row(out, "  offered", summary.bytes_offered)?;
    row(out, "  kept", summary.bytes_kept)?;
    row(out, "  saved", summary.bytes_saved)
}

pub(super) fn write_top_droppers(out: &mut String, summary: &Summary) -> fmt::Result {
    writeln!(out)?;
    if summary.top_droppers.is_empty() {
        return writeln!(out, "Top droppers: no registered event was dropped.");
    }
    writeln!(out, "Top {} droppers", summary.top_droppers.len())?;
    writeln!(out, "  {:<36} {:<16} {:<13} {:>12} {:>12}", "event", "owner", "reason", "dropped", "bytes saved")?;
    for dropper in &summary.top_droppers {
        writeln!(
            out,
            "  {:<36} {:<16} {:<13} {:>12} {:>12}",
            fit(&dropper.event, 36),
            fit(&dropper.owner, 16),
            dropper.reason.as_str(),
            format::count(dropper.dropped),
            format::bytes(dropper.bytes_saved)
        )?;
    }
    Ok(())
}

pub(super) fn write_names_seen(out: &mut String, summary: &Summary) -> fmt::Result {
    writeln!(out)?;
    let occurrences: u64 = summary.unregistered.iter().map(|name| name.count).sum();
    writeln!(
        out,
        "Unregistered names seen: {} names, {} events",
        summary.unregistered.len(),
        format::count(occurrences)
    )?;
    for name in &summary.unregistered {
        writeln!(
            out,
            "  {:<36} {:>12} {:>12}",
            fit(&name.name, 36),
            format::count(name.count),
            format::bytes(name.bytes)
        )?;
    }
    if summary.unregistered_overflow > 0 {
        writeln!(
            out,
            "  (+{} events of names past the per-device record)",
            format::count(summary.unregistered_overflow)
        )?;
    }
    writeln!(out, "Invalid names: {} events (counted, not recorded by name)", format::count(summary.invalid_names))
}

pub(super) fn write_sampling_check(out: &mut String, summary: &Summary) -> fmt::Result {
    writeln!(out)?;
    if summary.plan.shadow {
        return writeln!(out, "Sampling check: none, a shadow plan keeps every occurrence unweighted.");
    }
    if summary.sampling_check.is_empty() {
        return writeln!(out, "Sampling check: no sampled event reached the sampler.");
    }
    writeln!(out, "Sampling check: true count reaching the sampler vs the estimate (sum of kept weights)")?;
    let row = |out: &mut String, cells: [&str; 7]| {
        let [event, rate, true_count, devices, estimate, error, deviation] = cells;
        writeln!(out, "  {event:<34} {rate:>6} {true_count:>11} {devices:>8} {estimate:>11} {error:>8} {deviation:>9}")
    };
    row(out, ["event", "rate", "true count", "devices", "estimate", "error", "1 s.d."])?;
    for check in &summary.sampling_check {
        row(
            out,
            [
                &fit(&check.event, 34),
                &check.rate.to_string(),
                &format::count(check.true_count),
                &format::count(check.kept_devices),
                &format::count(check.estimate.round() as u64),
                &change(check.relative_error),
                &format!("±{}", percent(check.relative_deviation)),
            ],
        )?;
    }
    let total = &summary.sampling_check_total;
    row(
        out,
        [
            "all of them",
            "",
            &format::count(total.true_count),
            "",
            &format::count(total.estimate.round() as u64),
            &total.relative_error.map_or_else(|| "-".to_owned(), change),
            &total.relative_deviation.map_or_else(|| "-".to_owned(), |deviation| format!("±{}", percent(deviation))),
        ],
    )?;
    writeln!(out, "  devices: devices whose occurrences were kept; 1 s.d.: the typical size of the error.")?;
    writeln!(out, "  Events under one salt are kept on the same devices, so their errors move together.")?;
    if summary.sampling_check_rate_limited_excluded > 0 {
        writeln!(
            out,
            "  Left out: {} sampled events that are also rate-limited (the limit lowers the estimate).",
            summary.sampling_check_rate_limited_excluded
        )?;
    }
    Ok(())
}
