//! Every command that reads a plan, an envelope or a key file refuses one over its size cap
//! from the file's metadata, before reading it: a 2 GB sparse file is refused at once, and the
//! message names the file and the cap.

mod common;

use common::{keygen, path, scratch, sparse_file, trackgate};

const TWO_GB: u64 = 2 << 30;
const ENVELOPE_CAP: &str = "8388608-byte cap for an envelope";
const PLAN_CAP: &str = "134217728-byte cap for a plan";

fn assert_refused_for_size(arguments: &[&str], file: &str, cap: &str) {
    let run = trackgate(arguments);
    run.assert_code(1);
    assert!(run.stderr.contains(&format!("{file}: {TWO_GB} bytes, over the {cap}; not read")), "{}", run.stderr);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
}

#[test]
fn a_two_gigabyte_envelope_is_refused_unread_by_inspect_diff_and_fetch() {
    let directory = scratch("capped-envelope");
    let (_, public, _) = keygen(&directory.join("keys"));
    let huge = directory.join("huge.tgplan");
    // Starts like an envelope, so `diff` reads it as one.
    sparse_file(&huge, b"TGPLAN\0\0", TWO_GB);
    let huge = path(&huge);
    assert_refused_for_size(&["inspect", huge], huge, ENVELOPE_CAP);
    assert_refused_for_size(&["inspect", huge, "--pubkey", path(&public)], huge, ENVELOPE_CAP);
    assert_refused_for_size(&["diff", huge, huge], huge, ENVELOPE_CAP);
    let store = directory.join("store");
    assert_refused_for_size(
        &[
            "fetch",
            "http://127.0.0.1:9/v1/plans/shop/prod",
            "--pubkey",
            path(&public),
            "--store",
            path(&store),
            "--bundled",
            huge,
        ],
        huge,
        ENVELOPE_CAP,
    );
}

#[test]
fn a_two_gigabyte_plan_is_refused_unread_by_every_plan_reader() {
    let directory = scratch("capped-plan");
    let (signing, _, _) = keygen(&directory.join("keys"));
    let huge = directory.join("huge.json");
    sparse_file(&huge, b"{", TWO_GB);
    let huge = path(&huge);
    let out = directory.join("out.tgplan");
    assert_refused_for_size(&["validate", huge], huge, PLAN_CAP);
    assert_refused_for_size(&["diff", huge, huge], huge, PLAN_CAP);
    assert_refused_for_size(
        &["build", huge, "--key", path(&signing), "--version", "1", "--out", path(&out)],
        huge,
        PLAN_CAP,
    );
    assert_refused_for_size(&["filter", "--plan", huge], huge, PLAN_CAP);
    assert_refused_for_size(&["export", "spark", "--plan", huge], huge, PLAN_CAP);
    assert_refused_for_size(&["demo", "--plan", huge, "--devices", "1"], huge, PLAN_CAP);
    assert!(!out.exists());
}

#[test]
fn an_oversized_key_file_is_refused_unread() {
    let directory = scratch("capped-key");
    let huge = directory.join("huge.key");
    sparse_file(&huge, b"trackgate public key v1\n", TWO_GB);
    let envelope = directory.join("none.tgplan");
    std::fs::write(&envelope, b"TGPLAN\0\0").unwrap();
    assert_refused_for_size(
        &["inspect", path(&envelope), "--pubkey", path(&huge)],
        path(&huge),
        "4096-byte cap for a key file",
    );
}

#[test]
fn a_two_gigabyte_cached_plan_in_the_fetch_store_is_refused_without_reading_it_whole() {
    let directory = scratch("capped-store");
    let (_, public, _) = keygen(&directory.join("keys"));
    let store = directory.join("store");
    std::fs::create_dir_all(&store).unwrap();
    sparse_file(&store.join("plan.bin"), b"TGPLAN\0\0", TWO_GB);
    // Nothing listens on port 9: the run starts from the store, then the fetch fails.
    let run = trackgate(&[
        "fetch",
        "http://127.0.0.1:9/v1/plans/shop/prod",
        "--pubkey",
        path(&public),
        "--store",
        path(&store),
        "--timeout",
        "2",
    ]);
    run.assert_code(2);
    assert!(run.stdout.contains("before: FailPolicy version 0"), "{}", run.stdout);
    assert!(run.stdout.contains("store: ") && run.stdout.contains("larger than 8388608 bytes"), "{}", run.stdout);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
}
