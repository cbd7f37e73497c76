//! The staged rollout of `trackgate demo --governance`, on simulated devices in simulated time.
//!
//! Every device is a real `trackgate_delivery::Delivery`: its own engine on a `ManualClock`, an
//! in-memory store, and a keyring that requires one `business` and one `technical` signature,
//! started on the co-signed bundled plan. Its rollout bucket comes from its install id and the
//! app's salt (`trackgate_delivery::rollout_bucket`, as on a phone). There is no HTTP: at each
//! tick a device is offered the envelope `trackgate serve` would answer its bucket with, chosen
//! by serve's own `Catalog::choose` over the release record, and it verifies it as it would a
//! download. Between ticks each device on the new version uses the app for a session (the
//! demo's traffic model) and takes its drop report, which the watch (`ReleaseRecord::advance`)
//! reads. The previous version's cohort is the session every device had the day before the
//! rollout: simulating every other device at every tick would only grow that cohort (and the
//! memory it takes), not change what the watch compares. Nothing sleeps: ticks move the clocks.

use std::path::PathBuf;
use std::sync::Arc;

use trackgate_core::{Clock as _, DropReport, EngineOptions, ManualClock, Plan, SplitMix64};
use trackgate_delivery::{
    rollout_bucket, Delivery, DeliveryConfig, FailPolicy, Keyring, MemoryStorage, Schedule, Store, VerifyPolicy,
};
use trackgate_release::{Advance, ReleaseRecord, WatchReport, BUCKETS};

use super::simulate::{stream_seed, unit_id, use_app};
use super::tally::DeviceTruth;
use super::traffic::TrafficModel;
use crate::delivery::catalog::{Catalog, ServedPlan, ServedRelease};
use crate::Failure;

/// The random stream of each device's rollout sessions (apart from the report's traffic).
const ROLLOUT_STREAM: u64 = 0x726f_6c6c; // "roll"

const HOUR: u64 = 3600;

/// Time between two fetches and reports while the share is partial; the 100 % watch, a day
/// long, ticks every [`WATCH_TICK`] so the run stays small.
const STEP_TICK: u64 = HOUR;
const WATCH_TICK: u64 = 8 * HOUR;

/// The rollout gives up (with an error saying why) after this much simulated time.
const MAX_ROLLOUT_SECONDS: u64 = 14 * 24 * HOUR;

/// One device.
struct Device {
    delivery: Delivery,
    clock: Arc<ManualClock>,
    bucket: u16,
    random: SplitMix64,
    /// The simulator's own counts, which the rollout does not need (kept to reuse `use_app`).
    truth: DeviceTruth,
}

impl Device {
    /// Moves the device's clocks forward to `unix_seconds` (never back).
    fn advance_to(&self, unix_seconds: u64) {
        let now_ms = self.clock.unix_millis();
        let target_ms = unix_seconds * 1000;
        if target_ms > now_ms {
            self.clock.advance_nanos((target_ms - now_ms) * 1_000_000);
        }
    }
}

/// The envelopes a release gates, and the one devices start on.
pub(super) struct Envelopes {
    /// The previous plan, co-signed by both roles: what devices are bundled with.
    pub(super) bundled: Vec<u8>,
    /// The next plan at the release's `to_version`, signed at the reviews.
    pub(super) release: Vec<u8>,
    /// The previous content at `rollback_version`, signed at the reviews.
    pub(super) rollback: Vec<u8>,
}

/// The devices of one app and env.
pub(super) struct Fleet {
    devices: Vec<Device>,
    scope: (String, String),
}

impl Fleet {
    /// `count` devices of `plan`'s app and env whose keyring requires one signature of each
    /// role in `role_keys`, started at `now` (Unix seconds) on `bundled`. Install ids are the
    /// demo's unit ids of `seed`, so they are the devices of the report's traffic.
    pub(super) fn new(
        plan: &Plan,
        role_keys: &[(&str, [u8; 32])],
        bundled: &[u8],
        count: u64,
        seed: u64,
        now: u64,
        event_count: usize,
    ) -> Result<Fleet, Failure> {
        let (app, env) = (plan.app.as_str(), plan.env.as_str());
        let salt = format!("{app}/{env}");
        let mut keyring = Keyring::new();
        for (role, key) in role_keys {
            keyring.add_with_role(key, role).map_err(|error| Failure::error(format!("demo keyring: {error}")))?;
            keyring.require(role, 1).map_err(|error| Failure::error(format!("demo keyring: {error}")))?;
        }
        keyring.check().map_err(|error| Failure::error(format!("demo keyring: {error}")))?;
        let mut devices = Vec::with_capacity(usize::try_from(count).unwrap_or(0));
        for index in 0..count {
            let install_id = unit_id(seed, index);
            let schedule = Schedule {
                rollout_salt: Some(salt.clone()),
                // Never fetched: the demo offers envelopes in process.
                ..Schedule::new(format!("http://in-process.invalid/v1/plans/{app}/{env}"))
            };
            let config = DeliveryConfig {
                app: app.to_owned(),
                env: env.to_owned(),
                keyring: keyring.clone(),
                verify: VerifyPolicy::default(),
                fail_policy: FailPolicy::KeepAll,
                schedule,
            };
            let clock = Arc::new(ManualClock::new(now * 1000));
            let options =
                EngineOptions { unit_id: Some(install_id.clone()), clock: clock.clone(), ..EngineOptions::default() };
            let store = Store::new(Box::new(MemoryStorage::default()), 1 << 20);
            let random_seed = stream_seed(seed, index, ROLLOUT_STREAM);
            let jitter = Box::new(trackgate_delivery::SplitMix64::new(random_seed));
            let delivery = Delivery::start(config, store, Some(bundled), options, jitter)
                .map_err(|error| Failure::error(format!("device {index} cannot start on the bundled plan: {error}")))?;
            devices.push(Device {
                delivery,
                clock,
                bucket: rollout_bucket(&install_id, &salt),
                random: SplitMix64::new(random_seed),
                truth: DeviceTruth::new(event_count),
            });
        }
        Ok(Fleet { devices, scope: (app.to_owned(), env.to_owned()) })
    }

    /// How many devices run `version`.
    pub(super) fn on_version(&self, version: u64) -> usize {
        self.devices.iter().filter(|device| device.delivery.engine().plan_version() == version).count()
    }

    /// At `now`, every device is offered what `catalog` answers its bucket (as `serve` would),
    /// unless it runs that version already (the server's 304); it verifies and installs it.
    fn offer(&mut self, catalog: &Catalog, now: u64) -> Result<(), Failure> {
        for (index, device) in self.devices.iter_mut().enumerate() {
            device.advance_to(now);
            let Some(served) = catalog.choose(&self.scope, Some(device.bucket), now) else { continue };
            if served.version == device.delivery.engine().plan_version() {
                continue;
            }
            device.delivery.offer(&served.bytes).map_err(|error| {
                Failure::error(format!("device {index} refused version {}: {error}", served.version))
            })?;
        }
        Ok(())
    }

    /// Every device (running `version`, when given) uses the app for one session from `from`,
    /// and takes its drop report at `to` (Unix seconds).
    pub(super) fn use_app(
        &mut self,
        model: &TrafficModel,
        from: u64,
        to: u64,
        version: Option<u64>,
    ) -> Vec<DropReport> {
        self.devices
            .iter_mut()
            .filter(|device| version.is_none_or(|version| device.delivery.engine().plan_version() == version))
            .map(|device| {
                device.advance_to(from);
                let engine = device.delivery.engine();
                use_app(model, engine, &device.clock, &mut device.random, &mut device.truth, 1);
                device.advance_to(to);
                engine.take_report()
            })
            .collect()
    }
}

/// One step of the rollout as it ran.
pub(super) struct StepRun {
    /// Share of buckets offered the new plan, basis points.
    pub(super) share: u16,
    /// Devices on the new version at the step's last tick.
    pub(super) on_new: usize,
    /// Ticks that ended waiting (too young, or not enough reports).
    pub(super) waits: u32,
    /// The watch's last evaluation.
    pub(super) watch: Option<WatchReport>,
    /// What ended the step.
    pub(super) outcome: Advance,
}

/// What the server's catalogue holds for this release: the bundled plan as the plain envelope,
/// and the release's two envelopes gated by its record.
fn catalog(record: &ReleaseRecord, envelopes: &Envelopes) -> Catalog {
    let scope = (record.app.clone(), record.env.clone());
    let mut catalog = Catalog::default();
    catalog.plans.insert(
        scope.clone(),
        ServedPlan::new(envelopes.bundled.clone(), record.from_version, PathBuf::from("bundled")),
    );
    let release = ServedRelease {
        record: Arc::new(record.clone()),
        release: Some(ServedPlan::new(
            envelopes.release.clone(),
            record.to_version,
            PathBuf::from(format!("{}.release.tgplan", record.id)),
        )),
        rollback: Some(ServedPlan::new(
            envelopes.rollback.clone(),
            record.rollback_version,
            PathBuf::from(format!("{}.rollback.tgplan", record.id)),
        )),
    };
    catalog.releases.insert(scope, vec![release]);
    catalog
}

/// Runs a scheduled release to its end: opens it at its start time, then tick by tick offers
/// the served envelopes, lets every device use the app and report, and advances the record on
/// those reports (the watch), until it is confirmed or rolled back. `reports` holds the
/// reports devices sent before the rollout (the previous version's baseline).
pub(super) fn roll_out(
    record: ReleaseRecord,
    envelopes: &Envelopes,
    fleet: &mut Fleet,
    model: &TrafficModel,
    mut reports: Vec<DropReport>,
) -> Result<(ReleaseRecord, Vec<StepRun>), Failure> {
    let refused = |error: trackgate_release::ReleaseError| Failure::error(format!("release {}: {error}", record.id));
    let start = record.scheduled_at.ok_or_else(|| Failure::error("the release is not scheduled (a bug)"))?;
    let (mut record, opened, _) = record.advance(&reports, "watch", start).map_err(refused)?;
    let Advance::Started(mut share) = opened else {
        return Err(Failure::error(format!("the rollout did not open at its start time: {opened:?}")));
    };
    let mut steps = Vec::new();
    let mut waits = 0;
    let mut now = start;
    loop {
        if now - start > MAX_ROLLOUT_SECONDS {
            return Err(Failure::refused(format!(
                "the {} step still waits after {} simulated days: too few devices report to judge it \
                 ({waits} ticks waited); run with more --devices",
                trackgate_release::rollout::percent(share),
                MAX_ROLLOUT_SECONDS / (24 * HOUR)
            )));
        }
        fleet.offer(&catalog(&record, envelopes), now)?;
        let on_new = fleet.on_version(record.to_version);
        let tick = if share < BUCKETS { STEP_TICK } else { WATCH_TICK };
        reports.extend(fleet.use_app(model, now, now + tick, Some(record.to_version)));
        now += tick;
        let (next, advance, watch) = record.advance(&reports, "watch", now).map_err(refused)?;
        record = next;
        match advance {
            Advance::Waiting(_) => waits += 1,
            Advance::NextStep(following) => {
                steps.push(StepRun { share, on_new, waits, watch, outcome: Advance::NextStep(following) });
                share = following;
                waits = 0;
            }
            outcome @ (Advance::Confirmed | Advance::RolledBack(_)) => {
                let rolled_back = matches!(outcome, Advance::RolledBack(_));
                steps.push(StepRun { share, on_new, waits, watch, outcome });
                if rolled_back {
                    // Devices fetch again and move forward to the rollback version.
                    fleet.offer(&catalog(&record, envelopes), now)?;
                }
                return Ok((record, steps));
            }
            Advance::Started(_) => return Err(Failure::error("the rollout opened twice (a bug)")),
        }
    }
}
