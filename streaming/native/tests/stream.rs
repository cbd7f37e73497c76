//! The native stream library against the crates it wraps: envelopes judged as devices judge
//! them (a refusal changes nothing), blocks filtered exactly as `LineFilter` filters them,
//! counts never carried across a plan swap, stats that merge to the whole, and the C ABI's
//! packed results and errors.

use trackgate_core::{parse_plan, CompiledPlan};
use trackgate_delivery::{seal_plan, SigningKey};
use trackgate_etl::{ByPriority, FieldConfig, FilterCounts, FilterStats, LineFilter};
use trackgate_stream::ffi::*;
use trackgate_stream::{merge_stats, Offer, StreamConfig, StreamError, StreamFilter};

const NOW: u64 = 1_800_000_000;

fn plan_text(version: u64, app: &str) -> String {
    format!(
        r#"{{"schema":1,"app":"{app}","env":"prod","version":{version},"sampling_salt":"s",
        "defaults":{{"max_bytes":200}},
        "events":{{"p.zero":{{"priority":"P0"}},"p.half":{{"priority":"P2","sample":0.5}},
                  "p.low":{{"priority":"{}"}}}}}}"#,
        if version % 2 == 0 { "P1" } else { "P3" }
    )
}

fn key() -> SigningKey {
    SigningKey::from_bytes(&[7; 32])
}

fn envelope(version: u64, app: &str, signer: &SigningKey, expires_at: u64) -> Vec<u8> {
    let issued_at = expires_at.min(NOW) - 100;
    seal_plan(&parse_plan(&plan_text(version, app)).unwrap().plan, signer, issued_at, expires_at).unwrap()
}

fn config_json() -> String {
    let public: String = key().verifying_key().as_bytes().iter().map(|byte| format!("{byte:02x}")).collect();
    format!(r#"{{"app":"shop","env":"prod","trusted_keys":["{public}"],"malformed_listed":5}}"#)
}

fn stream() -> StreamFilter {
    StreamFilter::new(StreamConfig::parse(config_json().as_bytes()).unwrap())
}

fn block() -> Vec<u8> {
    let mut text = String::new();
    for index in 0..300 {
        let line = match index % 7 {
            0 => format!(r#"{{"event":"p.zero","unit_id":"u{index}"}}"#),
            1 | 2 => format!(r#"{{"event":"p.half","unit_id":"u{index}"}}"#),
            3 => format!(r#"{{"event":"p.low","pad":"{}"}}"#, "x".repeat(index % 300)),
            4 => format!(r#"{{"event":"other.{}"}}"#, index % 5),
            5 => "not json".to_owned(),
            _ => String::new(),
        };
        text.push_str(&line);
        text.push('\n');
    }
    let mut bytes = text.into_bytes();
    bytes.extend_from_slice(b"{\"event\":\"p.zero\xff\"}\n");
    bytes
}

fn installed_version(offer: Offer) -> u64 {
    match offer {
        Offer::Installed(header) => header.plan_version,
        other => panic!("expected an install, got {other:?}"),
    }
}

fn refusal(offer: Offer) -> &'static str {
    match offer {
        Offer::Refused(error) => error.kind(),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn envelopes_are_judged_as_devices_judge_them_and_refusals_change_nothing() {
    let mut stream = stream();
    assert_eq!(stream.filter_block(b"{}\n"), Err(StreamError::NoPlan));
    let v2 = envelope(2, "shop", &key(), NOW + 3600);
    assert_eq!(installed_version(stream.offer(&v2, NOW, false).unwrap()), 2);
    assert!(matches!(stream.offer(&v2, NOW, false).unwrap(), Offer::AlreadyCurrent(2)));
    stream.filter_block(&block()).unwrap();
    let before = stream.kept().clone();
    stream.take_stats(None, "t".into()).unwrap();

    let mut forged = envelope(3, "shop", &key(), NOW + 3600);
    let last = forged.len() - 1;
    forged[last] ^= 1;
    let stranger = envelope(3, "shop", &SigningKey::from_bytes(&[9; 32]), NOW + 3600);
    let rollback = envelope(1, "shop", &key(), NOW + 3600);
    let wrong_scope = envelope(3, "other", &key(), NOW + 3600);
    let expired = envelope(3, "shop", &key(), NOW - 90_000);
    for (bytes, kind) in [
        (&forged[..], "bad_signature"),
        (&stranger[..], "unknown_key"),
        (&rollback[..], "rollback"),
        (&wrong_scope[..], "wrong_scope"),
        (&expired[..], "expired"),
        (&b"garbage"[..], "malformed"),
    ] {
        assert_eq!(refusal(stream.offer(bytes, NOW, false).unwrap()), kind);
        assert_eq!(stream.active().unwrap().plan_version, 2);
        stream.filter_block(&block()).unwrap();
        assert_eq!(stream.kept(), &before, "after a refused {kind} envelope");
        stream.take_stats(None, "t".into()).unwrap();
    }
    // Restoring the job's own checkpointed envelope skips only the time checks.
    let mut restored = self::stream();
    assert_eq!(installed_version(restored.offer(&expired, NOW, true).unwrap()), 3);
    assert_eq!(refusal(self::stream().offer(&forged, NOW, true).unwrap()), "bad_signature");

    assert_eq!(installed_version(stream.offer(&envelope(3, "shop", &key(), NOW + 3600), NOW, false).unwrap()), 3);
    stream.filter_block(&block()).unwrap();
    assert_ne!(stream.kept(), &before, "plan 3 moves p.low from P1 to P3");
}

#[test]
fn a_block_is_filtered_exactly_as_the_line_filter_does_it() {
    let mut stream = stream();
    stream.offer(&envelope(2, "shop", &key(), NOW + 3600), NOW, false).unwrap();
    let block = block();
    let counts = stream.filter_block(&block).unwrap();
    let stats = stream.take_stats(Some("w".into()), "in".into()).unwrap();

    let compiled = CompiledPlan::compile(&parse_plan(&plan_text(2, "shop")).unwrap().plan).unwrap();
    let filter = LineFilter::new(&compiled, &FieldConfig::default()).unwrap();
    let (mut expected, mut expected_counts) = (ByPriority::default(), FilterCounts::new(5, 10_000));
    filter.filter_block(&block, &mut expected, &mut expected_counts);
    assert_eq!(stream.kept(), &expected);
    assert_eq!(stats, FilterStats::from_counts(&compiled, Some("w".into()), "in".into(), expected_counts));
    assert_eq!((counts.lines, counts.blank, counts.malformed), (301, 42, 44));
    assert!(!stream.has_counts());
}

#[test]
fn counts_are_taken_before_a_swap_and_partial_stats_merge_to_the_whole() {
    let mut stream = stream();
    stream.offer(&envelope(2, "shop", &key(), NOW + 3600), NOW, false).unwrap();
    let block = block();
    let cut = block.len() / 2 + block[block.len() / 2..].iter().position(|byte| *byte == b'\n').unwrap() + 1;
    stream.filter_block(&block[..cut]).unwrap();
    let next = envelope(4, "shop", &key(), NOW + 3600);
    assert_eq!(stream.offer(&next, NOW, false).unwrap_err(), StreamError::CountsPending(2));
    let first = stream.take_stats(Some("w".into()), "in".into()).unwrap();
    stream.filter_block(&block[cut..]).unwrap();
    let second = stream.take_stats(Some("w".into()), "in".into()).unwrap();
    stream.filter_block(&block).unwrap();
    let whole = stream.take_stats(Some("w".into()), "in".into()).unwrap();

    let merged = merge_stats(first.to_json().as_bytes(), second.to_json().as_bytes()).unwrap();
    assert_eq!(merged, whole);
    let other_window = stream.take_stats(Some("v".into()), "in".into()).unwrap();
    assert!(matches!(
        merge_stats(first.to_json().as_bytes(), other_window.to_json().as_bytes()),
        Err(StreamError::Stats(_))
    ));
    assert!(
        matches!(merge_stats(b"{", b"{}"), Err(StreamError::Stats(message)) if message.starts_with("first record"))
    );
    assert_eq!(installed_version(stream.offer(&next, NOW, false).unwrap()), 4);
}

#[test]
fn bad_configurations_name_their_key() {
    let bad = [
        (r#"{"app":"a","env":"e","trusted_keys":[]}"#, "trusted_keys: at least one key"),
        (r#"{"app":"a","env":"e","trusted_keys":["zz"]}"#, "trusted_keys[0]"),
        (r#"{"app":"a","env":"e","trusted_keys":["00"],"colour":1}"#, "unknown field `colour`"),
    ];
    for (text, expected) in bad {
        let message = StreamConfig::parse(text.as_bytes()).unwrap_err().to_string();
        assert!(message.contains(expected), "{message}");
    }
    let config = config_json().replace(r#""malformed_listed":5"#, r#""size_from":"bytes""#);
    assert!(StreamConfig::parse(config.as_bytes()).unwrap_err().to_string().starts_with("configuration: size_from"));
}

fn result(handle: *mut Handle, length: i64) -> Vec<u8> {
    assert!(length >= 0, "status {length}");
    // SAFETY: the handle is live and its result holds `length` bytes until the next call.
    unsafe { std::slice::from_raw_parts(tg_stream_result(handle), length as usize).to_vec() }
}

#[test]
fn the_c_abi_packs_blocks_and_reports_errors() {
    let mut error = [0u8; 256];
    // SAFETY: every pointer below points to live buffers of the lengths given; the handle is
    // used on this thread only and freed once.
    unsafe {
        let bad = tg_stream_new(b"{".as_ptr(), 1, error.as_mut_ptr(), error.len());
        assert!(bad.is_null());
        let message = std::ffi::CStr::from_bytes_until_nul(&error).unwrap().to_str().unwrap();
        assert!(message.starts_with("configuration: EOF"), "{message}");

        let config = config_json();
        let handle = tg_stream_new(config.as_ptr(), config.len(), error.as_mut_ptr(), error.len());
        assert!(!handle.is_null());
        let block = block();
        assert_eq!(tg_stream_filter(handle, block.as_ptr(), block.len()), STATUS_ERROR);
        assert_eq!(result(handle, tg_stream_result_length(handle)), b"no plan has been accepted yet");

        let garbage = b"\x00\x01";
        assert_eq!(tg_stream_offer(handle, garbage.as_ptr(), garbage.len(), NOW, 0), OFFER_REFUSED);
        let v2 = envelope(2, "shop", &key(), NOW + 3600);
        assert_eq!(tg_stream_offer(handle, v2.as_ptr(), v2.len(), NOW, 0), OFFER_INSTALLED);
        let length = tg_stream_filter(handle, block.as_ptr(), block.len());
        let packed = result(handle, length);

        let mut direct = stream();
        direct.offer(&v2, NOW, false).unwrap();
        let counts = direct.filter_block(&block).unwrap();
        let number = |at: usize| u64::from_le_bytes(packed[at..at + 8].try_into().unwrap());
        assert_eq!((number(0), number(8), number(16)), (counts.lines, counts.blank, counts.malformed));
        let word = |at: usize| u32::from_le_bytes(packed[at..at + 4].try_into().unwrap()) as usize;
        let line_counts: Vec<usize> = (0..5).map(|index| word(44 + 4 * index)).collect();
        let mut length_at = BLOCK_HEADER_BYTES;
        let mut at = BLOCK_HEADER_BYTES + 4 * line_counts.iter().sum::<usize>();
        for (index, expected) in direct.kept().0.iter().enumerate() {
            let length = word(24 + 4 * index);
            assert_eq!(&packed[at..at + length], &expected[..], "buffer {index}");
            // The line lengths cut the buffer exactly at its newlines.
            let lines: Vec<&[u8]> =
                expected.strip_suffix(b"\n").map_or(vec![], |body| body.split(|byte| *byte == b'\n').collect());
            assert_eq!(line_counts[index], lines.len(), "buffer {index}");
            for line in lines {
                assert_eq!(word(length_at), line.len(), "buffer {index}");
                length_at += 4;
            }
            at += length;
        }
        assert!(line_counts.iter().sum::<usize>() > 0, "the block keeps lines");
        assert_eq!(length_at, BLOCK_HEADER_BYTES + 4 * line_counts.iter().sum::<usize>());
        assert_eq!(at, packed.len());

        assert_eq!(tg_stream_has_counts(handle), 1);
        let window = b"w";
        let length = tg_stream_take_stats(handle, window.as_ptr(), 1, b"in".as_ptr(), 2);
        let stats: FilterStats = serde_json::from_slice(&result(handle, length)).unwrap();
        assert_eq!((stats.window.as_deref(), stats.lines), (Some("w"), 301));
        let json = serde_json::to_vec(&stats).unwrap();
        let length = tg_stream_merge_stats(handle, json.as_ptr(), json.len(), json.as_ptr(), json.len());
        let merged: FilterStats = serde_json::from_slice(&result(handle, length)).unwrap();
        assert_eq!(merged.lines, 602);
        assert_eq!(tg_stream_merge_stats(handle, json.as_ptr(), json.len(), b"{".as_ptr(), 1), STATUS_ERROR);
        tg_stream_free(handle);
    }
}

#[test]
fn the_envelope_cap_is_the_servers_own_and_checked() {
    // Default: larger than the devices' 8 MiB, for plans of every registered event.
    let config = StreamConfig::parse(config_json().as_bytes()).unwrap();
    assert_eq!(config.policy.max_envelope_bytes, trackgate_stream::DEFAULT_STREAM_MAX_ENVELOPE_BYTES);
    assert!(config.policy.max_envelope_bytes > trackgate_delivery::envelope::DEFAULT_MAX_ENVELOPE_BYTES);

    // A cap below the envelope refuses it as too large and changes nothing (a plan of 200
    // events, so the envelope is above the smallest cap, 1 KiB).
    let events: Vec<String> = (0..200).map(|index| format!(r#""e.{index:03}":{{"priority":"P2"}}"#)).collect();
    let text = format!(r#"{{"schema":1,"app":"shop","env":"prod","version":2,"events":{{{}}}}}"#, events.join(","));
    let v2 = seal_plan(&parse_plan(&text).unwrap().plan, &key(), NOW - 100, NOW + 3600).unwrap();
    assert!(v2.len() > 1024, "{}", v2.len());
    let small = config_json().replace(r#""malformed_listed":5"#, &format!(r#""max_envelope_bytes":{}"#, v2.len() - 1));
    let mut capped = StreamFilter::new(StreamConfig::parse(small.as_bytes()).unwrap());
    assert_eq!(refusal(capped.offer(&v2, NOW, false).unwrap()), "too_large");
    assert_eq!(capped.filter_block(b"{}\n"), Err(StreamError::NoPlan));
    let exact = config_json().replace(r#""malformed_listed":5"#, &format!(r#""max_envelope_bytes":{}"#, v2.len()));
    let mut fits = StreamFilter::new(StreamConfig::parse(exact.as_bytes()).unwrap());
    assert_eq!(installed_version(fits.offer(&v2, NOW, false).unwrap()), 2);

    for bad in ["1023", "268435457"] {
        let text = config_json().replace(r#""malformed_listed":5"#, &format!(r#""max_envelope_bytes":{bad}"#));
        let message = StreamConfig::parse(text.as_bytes()).unwrap_err().to_string();
        assert!(message.contains("max_envelope_bytes"), "{message}");
    }
}
