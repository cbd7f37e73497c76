//! `trackgate release`: moves a plan version through the recorded stages of
//! `trackgate-release` (`docs/governance.md`, "Releases"), one subcommand per stage.
//!
//! The record lives in the served plan directory as `ID.release.json`; the envelopes it gates
//! are `ID.release.tgplan` (the next plan) and `ID.rollback.tgplan` (the previous content as
//! `rollback_version`), both signed at the reviews. `trackgate serve` offers them only as the
//! record says. Every command reads the record, applies one operation of the library at the
//! time `--now` (default: the clock), and replaces the record atomically (write to a temporary
//! file, then rename), so the server never reads half a record. A refused operation writes
//! nothing.

mod envelopes;
mod inputs;
pub mod table;

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use trackgate_release::{
    register, Advance, Baseline, CheckConfig, CheckInputs, CostModel, GuardConfig, RegisterOptions, ReleaseError,
    ReleaseRecord, Role, RolloutPlan,
};

use crate::delivery::{read_signing_key, unix_now};
use crate::validate::read_plan;
use crate::{files, Failure};

/// Largest release record read: two plans at their cap, and room for the rest.
pub const RECORD_CAP: usize = 2 * files::PLAN_CAP + (16 << 20);

/// The suffix of release record files in a plan directory.
pub const RECORD_SUFFIX: &str = ".release.json";
/// The suffix of a release's envelope of the next plan.
pub const RELEASE_ENVELOPE_SUFFIX: &str = ".release.tgplan";
/// The suffix of a release's rollback envelope.
pub const ROLLBACK_ENVELOPE_SUFFIX: &str = ".rollback.tgplan";

/// Arguments of `trackgate release`.
#[derive(Args)]
pub struct ReleaseArgs {
    #[command(subcommand)]
    command: ReleaseCommand,
}

/// Who and when, common to every stage command.
#[derive(Args, Clone)]
struct Actor {
    /// Who does this (recorded in the stage).
    #[arg(long, default_value = "unknown")]
    by: String,
    /// The time, Unix seconds (default: the clock). Tests and replays inject it.
    #[arg(long)]
    now: Option<u64>,
}

impl Actor {
    fn now(&self) -> u64 {
        self.now.unwrap_or_else(unix_now)
    }
}

#[derive(Subcommand)]
enum ReleaseCommand {
    /// Register a release of PLAN over the plan devices run now (--from-plan): writes
    /// DIR/ID.release.json.
    Start(StartArgs),
    /// Run the risk rules; exit 1 when a finding blocks.
    Check(CheckArgs),
    /// Per-event changes with projected events, bytes and cost per day.
    Diff(DiffArgs),
    /// Approve as a role: sign the release with KEY and co-sign its envelopes.
    Approve(ApproveArgs),
    /// Set when the rollout starts.
    Schedule(ScheduleArgs),
    /// Watch from the collected drop reports, then open the next step, confirm, or roll back.
    Advance(WatchArgs),
    /// Watch from the collected drop reports: roll back on a breach, never move forward.
    Watch(WatchArgs),
    /// Print the stages with who, when and how long.
    Status(StatusArgs),
}

#[derive(Args)]
struct StartArgs {
    /// The next plan (JSON).
    plan: PathBuf,
    /// The plan devices run now (JSON).
    #[arg(long)]
    from_plan: PathBuf,
    /// The served plan directory (`trackgate serve DIR`).
    #[arg(long)]
    dir: PathBuf,
    /// The release's name (default: APP-ENV-VERSION).
    #[arg(long)]
    id: Option<String>,
    /// Rollout steps, e.g. `1%:1h,10%:2h,50%:4h,100%:24h` (the default); the last is the watch.
    #[arg(long)]
    steps: Option<String>,
    /// Guard thresholds (JSON, fields of `guards` in docs/governance.md).
    #[arg(long)]
    guards: Option<PathBuf>,
    /// Risk rule severities (JSON, docs/governance.md "Check").
    #[arg(long)]
    check_config: Option<PathBuf>,
    #[command(flatten)]
    actor: Actor,
}

#[derive(Args)]
struct CheckArgs {
    /// The release record.
    record: PathBuf,
    /// `usage.json` from `trackgate usage`.
    #[arg(long)]
    usage: Option<PathBuf>,
    /// Filter stats files and drop report files (JSON or NDJSON, e.g. a collect file).
    #[arg(long = "input")]
    inputs: Vec<PathBuf>,
    #[command(flatten)]
    actor: Actor,
}

#[derive(Args)]
struct DiffArgs {
    /// The release record.
    record: PathBuf,
    /// Filter stats files and drop report files (JSON or NDJSON, e.g. a collect file).
    #[arg(long = "input")]
    inputs: Vec<PathBuf>,
    /// Prices (JSON: currency, per_million_events, per_gb), as for `trackgate report`.
    #[arg(long)]
    prices: Option<PathBuf>,
    #[command(flatten)]
    actor: Actor,
}

#[derive(Args)]
struct ApproveArgs {
    /// The release record.
    record: PathBuf,
    /// The role approving: business or technical.
    #[arg(long, value_parser = parse_role)]
    role: Role,
    /// The approver's signing key (`trackgate keygen`).
    #[arg(long)]
    key: PathBuf,
    /// What the reviewer says.
    #[arg(long, default_value = "")]
    comment: String,
    /// How long devices accept the signed envelopes: `90d`, `12h`, ...
    #[arg(long, default_value = "90d", value_parser = crate::delivery::build::parse_duration)]
    expires: u64,
    #[command(flatten)]
    actor: Actor,
}

#[derive(Args)]
struct ScheduleArgs {
    /// The release record.
    record: PathBuf,
    /// When the rollout starts, Unix seconds (a past time means now).
    #[arg(long)]
    at: u64,
    #[command(flatten)]
    actor: Actor,
}

#[derive(Args)]
struct WatchArgs {
    /// The release record.
    record: PathBuf,
    /// Drop report files (the `serve --collect` file; lines that are not drop reports are skipped).
    #[arg(long = "reports")]
    reports: Vec<PathBuf>,
    #[command(flatten)]
    actor: Actor,
}

#[derive(Args)]
struct StatusArgs {
    /// The release record.
    record: PathBuf,
    /// Print the record's JSON instead of the table.
    #[arg(long)]
    json: bool,
    /// The time running stages are measured to (default: the clock).
    #[arg(long)]
    now: Option<u64>,
}

fn parse_role(text: &str) -> Result<Role, String> {
    Role::parse(text).ok_or_else(|| format!("`{text}`: the roles are business and technical"))
}

/// A library refusal as a CLI failure naming the record.
fn refused(path: &Path, error: ReleaseError) -> Failure {
    Failure::refused(format!("{}: {error}", path.display()))
}

/// Reads and checks a record (format, fields, digests).
pub fn read_record(path: &Path) -> Result<ReleaseRecord, Failure> {
    let bytes = files::read_capped(path, RECORD_CAP, "release record")?;
    let text = String::from_utf8(bytes).map_err(|error| {
        Failure::refused(format!("{}: not UTF-8 at byte {}", path.display(), error.utf8_error().valid_up_to()))
    })?;
    ReleaseRecord::parse(&text).map_err(|error| refused(path, error))
}

/// Replaces `path` with `record` atomically (temporary file in the same directory, then rename).
fn write_record(path: &Path, record: &ReleaseRecord) -> Result<(), Failure> {
    write_atomically(path, record.to_json().as_bytes())
}

/// Writes `bytes` to a hidden temporary file beside `path` (the server skips names starting
/// with `.`), syncs it, and renames it over `path`.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    use std::io::Write;
    let failed = |error: std::io::Error| Failure::error(format!("cannot write {}: {error}", path.display()));
    let name = path.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
    let temporary = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let mut file = std::fs::File::create(&temporary).map_err(failed)?;
    file.write_all(bytes).and_then(|()| file.sync_all()).map_err(failed)?;
    std::fs::rename(&temporary, path).map_err(failed)
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, Failure> {
    let bytes = files::read_capped(path, 1 << 20, "configuration file")?;
    serde_json::from_slice(&bytes)
        .map_err(|error| Failure::refused(format!("{}:{}:{}: {error}", path.display(), error.line(), error.column())))
}

/// The path of a sibling file of the record: `ID` + `suffix`.
fn sibling(record: &Path, id: &str, suffix: &str) -> PathBuf {
    record.with_file_name(format!("{id}{suffix}"))
}

/// Runs `trackgate release`.
pub fn run(args: &ReleaseArgs) -> Result<(), Failure> {
    match &args.command {
        ReleaseCommand::Start(args) => start(args),
        ReleaseCommand::Check(args) => check(args),
        ReleaseCommand::Diff(args) => diff(args),
        ReleaseCommand::Approve(args) => approve(args),
        ReleaseCommand::Schedule(args) => schedule(args),
        ReleaseCommand::Advance(args) => step(args, true),
        ReleaseCommand::Watch(args) => step(args, false),
        ReleaseCommand::Status(args) => status(args),
    }
}

fn start(args: &StartArgs) -> Result<(), Failure> {
    let (previous, _) = read_plan(&args.from_plan)?;
    let (next, _) = read_plan(&args.plan)?;
    let id = args.id.clone().unwrap_or_else(|| format!("{}-{}-{}", next.app, next.env, next.version));
    let steps = match &args.steps {
        Some(text) => RolloutPlan::parse_steps(text).map_err(|error| Failure::error(format!("--steps {error}")))?,
        None => RolloutPlan::default_steps(),
    };
    let guards: GuardConfig = args.guards.as_deref().map(read_json).transpose()?.unwrap_or_default();
    let check_config: CheckConfig = args.check_config.as_deref().map(read_json).transpose()?.unwrap_or_default();
    let options =
        RegisterOptions { id: id.clone(), by: args.actor.by.clone(), steps, offset: None, guards, check_config };
    let record = register(previous, next, options, args.actor.now())
        .map_err(|error| Failure::refused(format!("{}: {error}", args.plan.display())))?;
    if !args.dir.is_dir() {
        return Err(Failure::error(format!("{} is not a directory", args.dir.display())));
    }
    let path = args.dir.join(format!("{id}{RECORD_SUFFIX}"));
    if path.exists() {
        return Err(Failure::refused(format!("{} exists: a release named {id} was started already", path.display())));
    }
    if let Some(active) = inputs::active_release(&args.dir, &record.app, &record.env)? {
        return Err(Failure::refused(format!(
            "{} is still running for {}/{}: confirm or roll it back first",
            active.display(),
            record.app,
            record.env
        )));
    }
    write_record(&path, &record)?;
    outln!(
        "{}: release {id} of {}/{} version {} over {} registered; next: trackgate release check",
        path.display(),
        record.app,
        record.env,
        record.to_version,
        record.from_version
    );
    Ok(())
}

fn check(args: &CheckArgs) -> Result<(), Failure> {
    let record = read_record(&args.record)?;
    let usage = args.usage.as_deref().map(inputs::read_usage).transpose()?;
    let (baseline, _) = inputs::read_baseline(&args.inputs)?;
    let costs = CostModel::default();
    let checked_inputs = CheckInputs { usage: usage.as_ref(), baseline: &baseline, costs: &costs };
    let checked =
        record.check(checked_inputs, &args.actor.by, args.actor.now()).map_err(|error| refused(&args.record, error))?;
    write_record(&args.record, &checked)?;
    table::print_findings(&checked)?;
    let blocked = trackgate_release::check::blocking(&checked.findings);
    if blocked.is_empty() {
        Ok(())
    } else {
        Err(Failure::refused(format!(
            "{}: the check blocks the release ({} finding(s))",
            args.record.display(),
            blocked.len()
        )))
    }
}

fn diff(args: &DiffArgs) -> Result<(), Failure> {
    let record = read_record(&args.record)?;
    let (baseline, _): (Baseline, _) = inputs::read_baseline(&args.inputs)?;
    let costs: CostModel = args.prices.as_deref().map(read_json).transpose()?.unwrap_or_default();
    let diffed = record
        .diff(&baseline, &costs, &args.actor.by, args.actor.now())
        .map_err(|error| refused(&args.record, error))?;
    write_record(&args.record, &diffed)?;
    table::print_diff(&diffed)
}

fn approve(args: &ApproveArgs) -> Result<(), Failure> {
    let record = read_record(&args.record)?;
    let (key, label) = read_signing_key(&args.key)?;
    if let Some(label) = label.filter(|label| label != args.role.as_str()) {
        return Err(Failure::refused(format!(
            "{}: this key is labelled `{label}` (trackgate keygen --role), not `{}`",
            args.key.display(),
            args.role.as_str()
        )));
    }
    let now = args.actor.now();
    let signature = ed25519_dalek::Signer::sign(&key, &record.approval_message(args.role)).to_bytes();
    let approved = record
        .approve(args.role, key.verifying_key().as_bytes(), &signature, &args.actor.by, &args.comment, now)
        .map_err(|error| refused(&args.record, error))?;
    // The envelopes first: a record that says "approved" always has its envelopes.
    envelopes::sign(&args.record, &approved, &key, now, args.expires)?;
    write_record(&args.record, &approved)?;
    outln!(
        "{}: {} review approved by {} (key {})",
        args.record.display(),
        args.role.as_str(),
        args.actor.by,
        approved.approval(args.role).map_or("", |approval| approval.key_id.as_str())
    );
    Ok(())
}

fn schedule(args: &ScheduleArgs) -> Result<(), Failure> {
    let record = read_record(&args.record)?;
    let scheduled =
        record.schedule(args.at, &args.actor.by, args.actor.now()).map_err(|error| refused(&args.record, error))?;
    envelopes::check_present(&args.record, &scheduled)?;
    write_record(&args.record, &scheduled)?;
    let at = scheduled.scheduled_at.unwrap_or(args.at);
    outln!("{}: the rollout starts at {} ({at})", args.record.display(), trackgate_core::civil::UtcTime(at));
    Ok(())
}

fn step(args: &WatchArgs, forward: bool) -> Result<(), Failure> {
    let record = read_record(&args.record)?;
    let reports = inputs::read_reports(&args.reports)?;
    let now = args.actor.now();
    let result = if forward {
        record.advance(&reports.reports, &args.actor.by, now)
    } else {
        record.watch(&reports.reports, &args.actor.by, now)
    };
    let (next, advance, watch) = result.map_err(|error| refused(&args.record, error))?;
    if next != record {
        write_record(&args.record, &next)?;
    }
    if reports.skipped > 0 {
        eprintln!(
            "trackgate release: {} line(s) that looked like drop reports could not be read; skipped",
            reports.skipped
        );
    }
    if let Some(watch) = &watch {
        outln!("watch: {}", watch.summary());
    }
    match advance {
        Advance::Waiting(why) => outln!("{}: waiting: {why}", args.record.display()),
        Advance::Started(share) | Advance::NextStep(share) => outln!(
            "{}: now offered to {} of devices",
            args.record.display(),
            trackgate_release::rollout::percent(share)
        ),
        Advance::Confirmed => outln!("{}: confirmed", args.record.display()),
        Advance::RolledBack(reason) => {
            outln!(
                "{}: HALTED and rolled back: version {} (the content of {}) is served to every device",
                args.record.display(),
                next.rollback_version,
                next.from_version
            );
            return Err(Failure::refused(format!("{}: rolled back: {reason}", args.record.display())));
        }
    }
    Ok(())
}

fn status(args: &StatusArgs) -> Result<(), Failure> {
    let record = read_record(&args.record)?;
    if args.json {
        out!("{}", record.to_json());
        return Ok(());
    }
    let now = args.now.unwrap_or_else(unix_now);
    table::print_status(&record, now)
}
