//! `trackgate fetch`: the device-side client as a command. Starts delivery on a store
//! directory exactly as an app would (cache, bundled, fail policy), fetches once over HTTP(S),
//! verifies, persists and reports. Honours a server's `Retry-After` and backoff saved in the
//! store: it does not fetch while one is running.
//!
//! Exit codes: 0 installed or unchanged; 1 the server's plan was refused; 2 no usable answer.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use trackgate_core::{EngineOptions, SystemClock};
use trackgate_delivery::envelope::DEFAULT_MAX_ENVELOPE_BYTES;
use trackgate_delivery::http::UreqTransport;
use trackgate_delivery::{
    Delivery, DeliveryConfig, DirectoryStorage, FailPolicy, FetchOutcome, Schedule, SplitMix64, Store, VerifyPolicy,
};

use super::{format_time, read_trust, unix_now};
use crate::files::{read_capped, ENVELOPE_CAP};
use crate::Failure;

/// Arguments of `trackgate fetch`.
#[derive(Args)]
pub struct FetchArgs {
    /// The plan URL, `BASE/v1/plans/APP/ENV` (e.g. `http://127.0.0.1:8080/v1/plans/shop/prod`),
    /// or the server's base URL with `--app` and `--env` (e.g. `http://127.0.0.1:8080 --app shop
    /// --env prod`).
    url: String,
    /// Trusted public key files (`public.key` or `public.hex` from `trackgate keygen`); any one
    /// key's signature suffices.
    #[arg(long = "pubkey", required_unless_present = "keyring")]
    public_keys: Vec<PathBuf>,
    /// A keyring file instead of `--pubkey`: keys with roles, per-role thresholds, revoked keys
    /// (JSON, docs/config-delivery.md). Example: `--keyring keyring.json`.
    #[arg(long)]
    keyring: Option<PathBuf>,
    /// The device's store directory (created if missing).
    #[arg(long)]
    store: PathBuf,
    /// The app: required with a base URL; with a plan URL, it must match the URL's.
    #[arg(long)]
    app: Option<String>,
    /// The env: required with a base URL; with a plan URL, it must match the URL's.
    #[arg(long)]
    env: Option<String>,
    /// An app-bundled envelope, used at startup when newer than the store.
    #[arg(long)]
    bundled: Option<PathBuf>,
    /// Give up on the request after this many seconds.
    #[arg(long, default_value_t = 30)]
    timeout: u64,
}

/// The path segment before a plan URL's app and env.
const PLANS_PATH: &str = "/v1/plans/";

/// The plan URL and its app and env: from a plan URL `BASE/v1/plans/APP/ENV` (where `--app`
/// and `--env`, if given, must agree), or from a base URL (no `/v1/plans/` in it) with both
/// `--app` and `--env`. The message says which URL shape is expected.
fn resolve_url(url: &str, app: Option<&str>, env: Option<&str>) -> Result<(String, String, String), String> {
    let expected = "expected the plan URL BASE/v1/plans/APP/ENV, or a base URL with --app and --env";
    let without_query = url.split(['?', '#']).next().unwrap_or("");
    let Some(at) = without_query.find(PLANS_PATH) else {
        let (Some(app), Some(env)) = (app, env) else {
            return Err(format!("`{url}` is a base URL (no {PLANS_PATH} in it): pass --app and --env, or the plan URL BASE/v1/plans/APP/ENV"));
        };
        let plan_url = format!("{}{PLANS_PATH}{app}/{env}", url.trim_end_matches('/'));
        return Ok((plan_url, app.to_owned(), env.to_owned()));
    };
    let segments: Vec<&str> = without_query[at + PLANS_PATH.len()..].trim_end_matches('/').split('/').collect();
    let [url_app, url_env] = segments[..] else {
        return Err(format!("`{url}`: {expected}"));
    };
    if url_app.is_empty() || url_env.is_empty() {
        return Err(format!("`{url}`: {expected}"));
    }
    for (flag, given, from_url) in [("--app", app, url_app), ("--env", env, url_env)] {
        if let Some(given) = given.filter(|given| *given != from_url) {
            return Err(format!("{flag} {given} does not match `{from_url}` in the plan URL `{url}`"));
        }
    }
    Ok((url.to_owned(), url_app.to_owned(), url_env.to_owned()))
}

/// Runs `trackgate fetch`.
pub fn run(args: &FetchArgs) -> Result<(), Failure> {
    let (url, app, env) = resolve_url(&args.url, args.app.as_deref(), args.env.as_deref()).map_err(Failure::error)?;
    let bundled = args.bundled.as_deref().map(|path| read_capped(path, ENVELOPE_CAP, "envelope")).transpose()?;
    // One explicit fetch per run: no minimum gap and no hourly budget, but backoff applies.
    let schedule = Schedule { refresh_now_min_gap_seconds: 0, max_requests_per_hour: u32::MAX, ..Schedule::new(url) };
    let config = DeliveryConfig {
        app,
        env,
        // clap requires one of the two, so there is always a keyring here.
        keyring: read_trust(&args.public_keys, args.keyring.as_deref())?.unwrap_or_default(),
        verify: VerifyPolicy::default(),
        fail_policy: FailPolicy::KeepAll,
        schedule,
    };
    let storage = DirectoryStorage::open(&args.store)
        .map_err(|error| Failure::error(format!("cannot open store {}: {error}", args.store.display())))?;
    let store = Store::new(Box::new(storage), DEFAULT_MAX_ENVELOPE_BYTES);
    let options = EngineOptions {
        unit_id: Some("trackgate-cli".into()),
        clock: Arc::new(SystemClock::new()),
        ..EngineOptions::default()
    };
    let mut delivery =
        Delivery::start(config, store, bundled.as_deref(), options, Box::new(SplitMix64::from_entropy()))
            .map_err(|error| Failure::error(error.to_string()))?;
    let before = delivery.status();
    outln!("before: {:?} version {}", before.source, before.version);
    if let Some(problem) = &before.last_error {
        // A cache that could not be used (too large, corrupt) is said, not silently replaced.
        outln!("store: {problem}");
    }
    delivery.refresh_now();
    let outcome = delivery.fetch_if_due(&UreqTransport::new(Duration::from_secs(args.timeout)));
    let result = match &outcome {
        None => Err(Failure::error(format!(
            "not fetching: backing off until {} (as the server asked or after failures)",
            format_time(delivery.next_fetch_at())
        ))),
        Some(FetchOutcome::Installed { version }) => {
            outln!("installed version {version}");
            Ok(())
        }
        Some(FetchOutcome::Unchanged) => {
            outln!("unchanged: version {} is current", delivery.status().version);
            Ok(())
        }
        // The CLI boundary: the delivery crate's typed errors become text here and only here
        // (exit 1 for a refused plan, 2 for no usable answer), with their `Display` unchanged.
        Some(FetchOutcome::Refused(error)) => Err(Failure::refused(format!("plan refused: {error}"))),
        Some(FetchOutcome::Failed(error)) => Err(Failure::error(format!("fetch failed: {error}"))),
    };
    let status = delivery.status();
    let age = status.age_seconds.map_or("-".to_owned(), |seconds| format!("{seconds} s"));
    outln!("active: {:?} version {} (age {age}, expired {})", status.source, status.version, status.expired);
    let next = delivery.next_fetch_at().saturating_sub(unix_now());
    outln!("next fetch in {next} s");
    result
}

#[cfg(test)]
mod tests {
    use super::resolve_url;

    fn scope(url: &str, app: Option<&str>, env: Option<&str>) -> Result<(String, String, String), String> {
        resolve_url(url, app, env)
    }

    #[test]
    fn a_plan_url_names_its_scope() {
        let plan = |url: &str| (url.to_owned(), "shop".to_owned(), "prod".to_owned());
        assert_eq!(scope("http://h:1/v1/plans/shop/prod", None, None), Ok(plan("http://h:1/v1/plans/shop/prod")));
        assert_eq!(
            scope("https://h/v1/plans/shop/prod/?x=1", None, None),
            Ok(plan("https://h/v1/plans/shop/prod/?x=1"))
        );
        assert_eq!(
            scope("http://h:1/v1/plans/shop/prod", Some("shop"), None),
            Ok(plan("http://h:1/v1/plans/shop/prod"))
        );
        assert!(scope("http://h:1/v1/plans/shop/prod", Some("bank"), None).unwrap_err().contains("--app bank"));
        assert!(scope("http://h:1/v1/plans/shop", None, None).unwrap_err().contains("BASE/v1/plans/APP/ENV"));
    }

    #[test]
    fn a_base_url_needs_app_and_env() {
        assert_eq!(
            scope("http://h:1/", Some("shop"), Some("prod")),
            Ok(("http://h:1/v1/plans/shop/prod".into(), "shop".into(), "prod".into()))
        );
        let error = scope("http://h:1", None, None).unwrap_err();
        assert!(error.contains("base URL") && error.contains("--app and --env"), "{error}");
    }
}
