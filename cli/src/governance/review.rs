//! `trackgate review`: owners accept or reject changes, or list their worklists.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use trackgate_governance::{worklists, Verdict};

use super::{now, read_proposal, worklist};
use crate::files::write_atomic;
use crate::Failure;

/// Output format of `--list`.
#[derive(Clone, Copy, ValueEnum)]
pub enum ListFormat {
    /// Aligned text.
    Text,
    /// `trackgate-worklist/1` JSON.
    Json,
}

/// Arguments of `trackgate review`.
#[derive(Args)]
pub struct ReviewArgs {
    /// The proposal file (rewritten crash-safely with the answers).
    #[arg(value_name = "PROPOSAL")]
    proposal: PathBuf,
    /// Change ids to accept.
    #[arg(long, value_name = "ID", num_args = 1.., conflicts_with = "list")]
    accept: Vec<String>,
    /// Change ids to reject.
    #[arg(long, value_name = "ID", num_args = 1.., conflicts_with = "list")]
    reject: Vec<String>,
    /// Who answers (recorded with the time).
    #[arg(long, value_name = "NAME", conflicts_with = "list")]
    by: Option<String>,
    /// Why (recorded with the answer).
    #[arg(long, value_name = "TEXT", conflicts_with = "list")]
    comment: Option<String>,
    /// Print the worklists instead: what each owner has to confirm, by when, what it saves.
    #[arg(long)]
    list: bool,
    /// With --list: only this owner's worklist.
    #[arg(long, value_name = "OWNER", requires = "list")]
    owner: Option<String>,
    /// With --list: text or JSON.
    #[arg(long, value_enum, default_value_t = ListFormat::Text, requires = "list")]
    format: ListFormat,
    /// The time of the review (RFC 3339; default: now).
    #[arg(long, value_name = "TIME")]
    now: Option<String>,
}

/// Runs `trackgate review`.
pub fn run(args: &ReviewArgs) -> Result<(), Failure> {
    let now = now(args.now.as_deref())?;
    let mut proposal = read_proposal(&args.proposal)?;
    if args.list {
        let lists = worklists(&proposal, now, args.owner.as_deref());
        match args.format {
            ListFormat::Text => out!("{}", worklist::text(&lists)),
            ListFormat::Json => {
                let text = serde_json::to_string_pretty(&lists).map_err(|error| Failure::error(error.to_string()))?;
                outln!("{text}");
            }
        }
        return Ok(());
    }
    if args.accept.is_empty() && args.reject.is_empty() {
        return Err(Failure::error("give --accept ID… and/or --reject ID… with --by NAME, or --list"));
    }
    let by = args.by.as_deref().ok_or_else(|| Failure::error("--by NAME is required to accept or reject"))?;
    let decisions: Vec<(String, Verdict)> = args
        .accept
        .iter()
        .map(|id| (id.clone(), Verdict::Accept))
        .chain(args.reject.iter().map(|id| (id.clone(), Verdict::Reject)))
        .collect();
    let before: Vec<_> = proposal.changes.iter().map(|change| change.state).collect();
    proposal
        .review(&decisions, by, args.comment.as_deref(), now)
        .map_err(|error| Failure::refused(format!("{}: {error}; nothing written", args.proposal.display())))?;
    write_atomic(&args.proposal, proposal.to_json().as_bytes())?;
    let expired = proposal
        .changes
        .iter()
        .zip(before)
        .filter(|(change, before)| change.state != *before && change.answer.is_none())
        .count();
    for (id, verdict) in &decisions {
        let word = match verdict {
            Verdict::Accept => "accepted",
            Verdict::Reject => "rejected",
        };
        outln!("{word} {id} by {by} at {now}");
    }
    if expired > 0 {
        outln!("{expired} unanswered change(s) expired at their deadline");
    }
    Ok(())
}
