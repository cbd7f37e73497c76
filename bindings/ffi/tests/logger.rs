//! `GateOptions.logger`: delivery events reach the app's logger, in order, on the calling
//! thread with no gate lock held; a failing logger loses only its event.

mod common;

use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use common::{ok, options, options_with_transport, standard_plan, status, Publisher, ScriptedTransport, TempDir};
use trackgate_ffi::{ApplyOutcome, DeliveryEvent, DeliveryLogger, FetchResult, Gate, LoggerError, PlanSource};

#[derive(Default)]
struct Recorder {
    events: Mutex<Vec<DeliveryEvent>>,
}

impl Recorder {
    fn take(&self) -> Vec<DeliveryEvent> {
        std::mem::take(&mut *self.events.lock().unwrap())
    }
}

impl DeliveryLogger for Recorder {
    fn log(&self, event: DeliveryEvent) -> Result<(), LoggerError> {
        self.events.lock().unwrap().push(event);
        Ok(())
    }
}

#[test]
fn start_apply_and_refusals_are_logged_with_their_cause() {
    let (publisher, stranger) = (Publisher::new(1), Publisher::new(2));
    let store = TempDir::new("logger-apply");
    let recorder = Arc::new(Recorder::default());
    let mut options = options(&publisher, &store);
    options.bundled_plan = Some(stranger.seal(&standard_plan(3)));
    options.logger = Some(recorder.clone());
    let gate = Gate::new(options).expect("gate starts");
    match recorder.take().as_slice() {
        [DeliveryEvent::Started { source: PlanSource::FailPolicy, version: 0, problem: Some(problem) }] => {
            assert!(problem.starts_with("bundled plan refused: "), "{problem}");
            assert!(problem.contains("unknown key"), "{problem}");
        }
        other => panic!("expected one Started event, got {other:?}"),
    }

    let envelope = publisher.seal(&standard_plan(4));
    assert!(matches!(gate.apply_plan(envelope.clone()), ApplyOutcome::Installed { .. }));
    assert!(matches!(gate.apply_plan(envelope), ApplyOutcome::AlreadyCurrent));
    gate.apply_plan(stranger.seal(&standard_plan(5)));
    match recorder.take().as_slice() {
        [DeliveryEvent::Installed { source: PlanSource::Network, previous_version: 0, version: 4 }, DeliveryEvent::Unchanged, DeliveryEvent::Refused { kind, reason }] =>
        {
            assert_eq!(kind, "unknown_key");
            assert!(reason.contains("unknown key"), "{reason}");
        }
        other => panic!("unexpected events {other:?}"),
    }
}

/// A gate with a recording logger and `transport`, its start already logged and taken.
fn fetching_gate(publisher: &Publisher, store: &TempDir, transport: Arc<ScriptedTransport>) -> (Gate, Arc<Recorder>) {
    let recorder = Arc::new(Recorder::default());
    let mut options = options_with_transport(publisher, store, transport);
    options.logger = Some(recorder.clone());
    let gate = Gate::new(options).expect("gate starts");
    recorder.take();
    (gate, recorder)
}

#[test]
fn a_fetch_logs_the_answer_and_the_installed_version() {
    let publisher = Publisher::new(1);
    let store = TempDir::new("logger-fetch");
    let transport = ScriptedTransport::new(vec![ok(publisher.seal(&standard_plan(6)), "\"v6\"")]);
    let (gate, recorder) = fetching_gate(&publisher, &store, transport);
    assert!(matches!(gate.fetch_if_due().unwrap(), FetchResult::Installed { version: 6 }));
    match recorder.take().as_slice() {
        [DeliveryEvent::Fetched { url, status: 200, body_bytes }, DeliveryEvent::Installed { previous_version: 0, version: 6, .. }] =>
        {
            assert_eq!(url, common::PLAN_URL);
            assert!(*body_bytes > 0);
        }
        other => panic!("unexpected events {other:?}"),
    }
}

#[test]
fn a_failed_fetch_logs_why_and_the_backoff() {
    let publisher = Publisher::new(1);
    let store = TempDir::new("logger-backoff");
    let (gate, recorder) = fetching_gate(&publisher, &store, ScriptedTransport::new(vec![status(503)]));
    assert!(matches!(gate.fetch_if_due().unwrap(), FetchResult::Failed { .. }));
    match recorder.take().as_slice() {
        [DeliveryEvent::Fetched { status: 503, .. }, DeliveryEvent::Failed { reason }, DeliveryEvent::Backoff { consecutive_failures: 1, next_fetch_unix }] =>
        {
            assert!(reason.contains("503"), "{reason}");
            assert_eq!(*next_fetch_unix, gate.status().next_fetch_unix);
            assert!(*next_fetch_unix > common::unix_now(), "a backoff is in the future");
        }
        other => panic!("unexpected events {other:?}"),
    }
    // A transport error is logged as a failure without a `Fetched` (no answer came).
    let store = TempDir::new("logger-connect");
    let (gate, recorder) = fetching_gate(&publisher, &store, ScriptedTransport::new(Vec::new()));
    gate.fetch_if_due().unwrap();
    match recorder.take().as_slice() {
        [DeliveryEvent::Failed { reason }, DeliveryEvent::Backoff { consecutive_failures: 1, .. }] => {
            assert!(reason.contains("script exhausted"), "{reason}");
        }
        other => panic!("unexpected events {other:?}"),
    }
}

/// A logger that panics on every event.
struct Panicking;

impl DeliveryLogger for Panicking {
    fn log(&self, _event: DeliveryEvent) -> Result<(), LoggerError> {
        panic!("logger broke");
    }
}

/// A logger that fails every event (as a foreign exception arrives).
struct Failing;

impl DeliveryLogger for Failing {
    fn log(&self, _event: DeliveryEvent) -> Result<(), LoggerError> {
        Err(LoggerError::Failed { reason: "disk full".into() })
    }
}

#[test]
fn a_panicking_or_failing_logger_breaks_nothing() {
    let publisher = Publisher::new(1);
    let loggers: [Arc<dyn DeliveryLogger>; 2] = [Arc::new(Panicking), Arc::new(Failing)];
    for (index, logger) in loggers.into_iter().enumerate() {
        let store = TempDir::new(&format!("logger-broken-{index}"));
        let mut options = options(&publisher, &store);
        options.logger = Some(logger);
        let gate = Gate::new(options).expect("gate starts despite the logger");
        let outcome = gate.apply_plan(publisher.seal(&standard_plan(2)));
        assert!(matches!(outcome, ApplyOutcome::Installed { version: 2, .. }), "{outcome:?}");
        assert_eq!(gate.status().version, 2);
    }
}

/// A logger that calls back into the gate it logs for.
struct CallsBack {
    gate: OnceLock<Arc<Gate>>,
    seen: mpsc::Sender<u64>,
}

impl DeliveryLogger for CallsBack {
    fn log(&self, _event: DeliveryEvent) -> Result<(), LoggerError> {
        if let Some(gate) = self.gate.get() {
            let _ = self.seen.send(gate.status().version);
        }
        Ok(())
    }
}

#[test]
fn a_logger_may_call_the_gate_without_deadlocking() {
    let publisher = Publisher::new(1);
    let store = TempDir::new("logger-reentrant");
    let (seen, versions) = mpsc::channel();
    let logger = Arc::new(CallsBack { gate: OnceLock::new(), seen });
    let mut options = options(&publisher, &store);
    options.logger = Some(logger.clone());
    let gate = Arc::new(Gate::new(options).expect("gate starts"));
    let _ = logger.gate.set(Arc::clone(&gate));
    let envelope = publisher.seal(&standard_plan(7));
    let applier = std::thread::spawn(move || gate.apply_plan(envelope));
    // The hook ran status() during apply_plan: it must answer, with the new plan active.
    assert_eq!(versions.recv_timeout(Duration::from_secs(30)), Ok(7));
    assert!(matches!(applier.join().unwrap(), ApplyOutcome::Installed { version: 7, .. }));
}
