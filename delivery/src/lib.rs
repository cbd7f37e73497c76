//! # trackgate-delivery
//!
//! Delivers new governance plans to apps without an app release, such that a hostile network,
//! a broken server, a full disk or a killed process never leaves the app without a valid plan,
//! and nobody can push a plan they did not sign. The normative specification is
//! `docs/config-delivery.md`.
//!
//! - [`envelope`]: the signed binary envelope (formats 1 and 2) and key ids;
//! - [`Keyring`]: trusted keys with roles, per-role thresholds and revocations;
//! - [`seal`]: sealing envelopes and co-signing ([`add_signature`]);
//! - [`verify_envelope`]: every check, cheapest first, one [`VerifyError`] variant each
//!   ([`verify_signatures`] for the signature policy alone);
//! - [`Store`]: the crash-safe on-device cache over a [`Storage`];
//! - [`Fetcher`]: the sans-IO fetch schedule, driving a host [`Transport`];
//! - [`Delivery`]: startup order, offers, fetches and [`Status`];
//! - [`seal_plan`], [`seal_plan_v2`]: the publisher's side.
//!
//! The default build does no networking of its own and links no HTTP client, async runtime or
//! regex engine; the `http` feature adds [`http::UreqTransport`] for tools and tests, and the
//! `fast` feature turns on ed25519-dalek's precomputed tables (bigger, not measurably faster at
//! verifying; see `docs/performance.md`).
//!
//! ```
//! use std::sync::Arc;
//! use trackgate_core::{parse_plan, EngineOptions, ManualClock};
//! use trackgate_delivery::*;
//!
//! let key = SigningKey::from_bytes(&[1; 32]);
//! let plan = parse_plan(r#"{"schema": 1, "app": "shop", "env": "prod", "version": 3,
//!     "events": {"checkout.completed": {"priority": "P0"}}}"#).unwrap().plan;
//! let envelope = seal_plan(&plan, &key, 1_700_000_000, 1_800_000_000).unwrap();
//!
//! let mut keyring = Keyring::new();
//! keyring.add(key.verifying_key().as_bytes()).unwrap();
//! let config = DeliveryConfig {
//!     app: "shop".into(),
//!     env: "prod".into(),
//!     keyring,
//!     verify: VerifyPolicy::default(),
//!     fail_policy: FailPolicy::KeepAll,
//!     schedule: Schedule::new("https://plans.example/v1/plans/shop/prod"),
//! };
//! let directory = std::env::temp_dir().join(format!("trackgate-doc-{}", std::process::id()));
//! let store = Store::new(Box::new(DirectoryStorage::open(&directory).unwrap()), 1 << 20);
//! let clock = Arc::new(ManualClock::new(1_700_000_100_000));
//! let options = EngineOptions { unit_id: Some("install-1".into()), clock, ..EngineOptions::default() };
//! let mut delivery = Delivery::start(config, store, Some(&envelope), options, Box::new(SplitMix64::new(7))).unwrap();
//! assert_eq!(delivery.status().source, PlanSource::Bundled);
//! assert_eq!(delivery.engine().plan_version(), 3);
//! # std::fs::remove_dir_all(&directory).unwrap();
//! ```

#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod device;
pub mod envelope;
pub mod fetcher;
#[cfg(feature = "http")]
pub mod http;
pub mod keyring;
mod publish;
pub mod random;
pub mod rollout;
pub mod seal;
pub mod store;
mod threshold;
pub mod transport;
mod verify;

pub use device::{
    fail_policy_plan, Delivery, DeliveryConfig, DeliveryError, FailPolicy, FetchOutcome, OfferError, Offered,
    PlanSource, StartError, Status,
};
pub use ed25519_dalek::{SigningKey, VerifyingKey};
pub use envelope::{parse_envelope, EnvelopeError, EnvelopeHeader, KeyId, ParsedEnvelope, SignatureEntry};
pub use fetcher::{FetchError, Fetcher, Reply, Schedule};
pub use keyring::{KeyError, Keyring};
pub use publish::{encode_plan, seal_plan, seal_plan_v2, PublishError};
pub use random::{RandomSource, SplitMix64};
pub use rollout::{rollout_bucket, ROLLOUT_BUCKETS, ROLLOUT_BUCKET_HEADER};
pub use seal::{add_signature, attach_signature, sign_digest, CosignError};
pub use store::{DeliveryState, DirectoryStorage, FetchState, MemoryStorage, Storage, Store, StoreError};
pub use threshold::verify_signatures;
pub use transport::{HttpRequest, HttpResponse, Transport, TransportError, TransportErrorKind};
pub use verify::{
    compile_checked, decode_plan, verify_envelope, Floor, Verified, VerifiedPlan, VerifyContext, VerifyError,
    VerifyPolicy,
};
