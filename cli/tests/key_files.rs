//! Key files say what they are: `build` refuses a public key (and bare hex digits, which may be
//! one), and the readers of public keys (`inspect`, `fetch`, `serve --pubkey`) refuse a signing
//! key, each naming the mix-up. Bare 64-hex public keys (`public.hex`, what apps embed) still
//! work wherever a public key is read.

mod common;

use std::process::Command;

use common::{keygen, path, scratch, trackgate, write_plan, PLAN_WITH_WARNING};

#[test]
fn keygen_writes_typed_key_files_and_the_bare_hex_apps_embed() {
    let directory = scratch("keys-typed");
    let (signing, public, hex) = keygen(&directory);
    let signing = std::fs::read_to_string(signing).unwrap();
    let public = std::fs::read_to_string(public).unwrap();
    let hex = std::fs::read_to_string(hex).unwrap();
    assert!(signing.starts_with("trackgate signing key v1\n"), "{signing}");
    assert!(public.starts_with("trackgate public key v1\n"), "{public}");
    assert_eq!(public.lines().nth(1), Some(hex.trim()), "public.hex is public.key's digits");
    assert_eq!(hex.trim().len(), 64);
    assert!(hex.trim().bytes().all(|byte| byte.is_ascii_hexdigit()));
    assert_ne!(signing.lines().nth(1), Some(hex.trim()));
}

#[test]
fn build_refuses_a_public_key_and_bare_hex() {
    let directory = scratch("keys-build");
    let (signing, public, hex) = keygen(&directory.join("keys"));
    let plan = write_plan("keys-build-plan.json", PLAN_WITH_WARNING);
    let out = directory.join("plan.tgplan");
    let build =
        |key: &std::path::Path| trackgate(&["build", &plan, "--key", path(key), "--version", "1", "--out", path(&out)]);
    let run = build(&public);
    run.assert_code(2);
    assert!(run.stderr.contains("public.key: this is a public key"), "{}", run.stderr);
    assert!(run.stderr.contains("not a signing key"), "{}", run.stderr);
    assert!(!out.exists(), "nothing is signed with a public key");

    let run = build(&hex);
    run.assert_code(2);
    assert!(run.stderr.contains("public.hex: bare hex digits could be a public key"), "{}", run.stderr);
    assert!(run.stderr.contains("make `trackgate signing key v1` its first line"), "{}", run.stderr);
    assert!(!out.exists());

    // A legacy signing key (bare hex) works once marked as the message says.
    let digits = std::fs::read_to_string(&signing).unwrap().lines().nth(1).unwrap().to_owned();
    let legacy = directory.join("legacy-signing.key");
    std::fs::write(&legacy, format!("{digits}\n")).unwrap();
    build(&legacy).assert_code(2);
    std::fs::write(&legacy, format!("trackgate signing key v1\n{digits}\n")).unwrap();
    build(&legacy).assert_code(0);
    build(&signing).assert_code(0);
}

#[test]
fn readers_of_public_keys_refuse_a_signing_key_and_accept_bare_hex() {
    let directory = scratch("keys-readers");
    let (signing, public, hex) = keygen(&directory.join("keys"));
    let plan = write_plan("keys-readers-plan.json", PLAN_WITH_WARNING);
    let envelope = directory.join("plans").join("plan.tgplan");
    std::fs::create_dir_all(envelope.parent().unwrap()).unwrap();
    trackgate(&["build", &plan, "--key", path(&signing), "--version", "1", "--out", path(&envelope)]).assert_code(0);

    let mix_up = "signing.key: this is a signing key (`trackgate signing key v1`), which must stay secret";
    let run = trackgate(&["inspect", path(&envelope), "--pubkey", path(&signing)]);
    run.assert_code(2);
    assert!(run.stderr.contains(mix_up), "{}", run.stderr);
    assert!(run.stdout.is_empty(), "refused before printing: {}", run.stdout);

    let store = directory.join("store");
    let run = trackgate(&[
        "fetch",
        "http://127.0.0.1:9/v1/plans/shop/prod",
        "--pubkey",
        path(&signing),
        "--store",
        path(&store),
    ]);
    run.assert_code(2);
    assert!(run.stderr.contains(mix_up), "{}", run.stderr);

    let serve = Command::new(env!("CARGO_BIN_EXE_trackgate"))
        .args(["serve", path(envelope.parent().unwrap()), "--addr", "127.0.0.1:0", "--pubkey", path(&signing)])
        .output()
        .unwrap();
    assert_eq!(serve.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&serve.stderr).contains(mix_up), "{}", String::from_utf8_lossy(&serve.stderr));

    for key in [&public, &hex] {
        let run = trackgate(&["inspect", path(&envelope), "--pubkey", path(key)]);
        run.assert_code(0);
        assert!(run.stdout.contains("signature:      valid"), "{}", run.stdout);
    }
}
