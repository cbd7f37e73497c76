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

use super::{format_time, read_file, read_keyring, unix_now};
use crate::Failure;

/// Arguments of `trackgate fetch`.
#[derive(Args)]
pub struct FetchArgs {
    /// Plan URL, e.g. `http://127.0.0.1:8080/v1/plans/shop/prod`.
    url: String,
    /// Trusted public key files.
    #[arg(long = "pubkey", required = true)]
    public_keys: Vec<PathBuf>,
    /// The device's store directory (created if missing).
    #[arg(long)]
    store: PathBuf,
    /// The app (default: the URL's second-to-last path segment).
    #[arg(long)]
    app: Option<String>,
    /// The env (default: the URL's last path segment).
    #[arg(long)]
    env: Option<String>,
    /// An app-bundled envelope, used at startup when newer than the store.
    #[arg(long)]
    bundled: Option<PathBuf>,
    /// Give up on the request after this many seconds.
    #[arg(long, default_value_t = 30)]
    timeout: u64,
}

/// The app and env named by `.../{app}/{env}` at the end of a URL.
fn scope_from_url(url: &str) -> Option<(String, String)> {
    let path = url.split(['?', '#']).next()?.trim_end_matches('/');
    let mut segments = path.rsplit('/');
    let env = segments.next()?.to_owned();
    let app = segments.next()?.to_owned();
    Some((app, env))
}

/// Runs `trackgate fetch`.
pub fn run(args: &FetchArgs) -> Result<(), Failure> {
    let from_url = scope_from_url(&args.url);
    let app = args.app.clone().or_else(|| from_url.as_ref().map(|scope| scope.0.clone()));
    let env = args.env.clone().or_else(|| from_url.as_ref().map(|scope| scope.1.clone()));
    let (Some(app), Some(env)) = (app, env) else {
        return Err(Failure::error("cannot tell app and env from the URL; pass --app and --env"));
    };
    let bundled = args.bundled.as_deref().map(read_file).transpose()?;
    // One explicit fetch per run: no minimum gap and no hourly budget, but backoff applies.
    let schedule =
        Schedule { refresh_now_min_gap_seconds: 0, max_requests_per_hour: u32::MAX, ..Schedule::new(&args.url) };
    let config = DeliveryConfig {
        app,
        env,
        keyring: read_keyring(&args.public_keys)?,
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
    println!("before: {:?} version {}", before.source, before.version);
    delivery.refresh_now();
    let outcome = delivery.fetch_if_due(&UreqTransport::new(Duration::from_secs(args.timeout)));
    let result = match &outcome {
        None => Err(Failure::error(format!(
            "not fetching: backing off until {} (as the server asked or after failures)",
            format_time(delivery.next_fetch_at())
        ))),
        Some(FetchOutcome::Installed { version }) => {
            println!("installed version {version}");
            Ok(())
        }
        Some(FetchOutcome::Unchanged) => {
            println!("unchanged: version {} is current", delivery.status().version);
            Ok(())
        }
        Some(FetchOutcome::Refused(reason)) => Err(Failure::refused(format!("plan refused: {reason}"))),
        Some(FetchOutcome::Failed(reason)) => Err(Failure::error(format!("fetch failed: {reason}"))),
    };
    let status = delivery.status();
    let age = status.age_seconds.map_or("-".to_owned(), |seconds| format!("{seconds} s"));
    println!("active: {:?} version {} (age {age}, expired {})", status.source, status.version, status.expired);
    let next = delivery.next_fetch_at().saturating_sub(unix_now());
    println!("next fetch in {next} s");
    result
}

#[cfg(test)]
mod tests {
    use super::scope_from_url;

    #[test]
    fn scope_comes_from_the_last_two_segments() {
        assert_eq!(scope_from_url("http://h:1/v1/plans/shop/prod"), Some(("shop".into(), "prod".into())));
        assert_eq!(scope_from_url("https://h/v1/plans/shop/prod/?x=1"), Some(("shop".into(), "prod".into())));
    }
}
