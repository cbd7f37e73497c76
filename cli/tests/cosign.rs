//! Reviews as signatures from the command line: `keygen --role` labels keys, `build` seals a
//! format-2 envelope with one reviewer's key, `sign` adds the other's without changing the
//! signed digest, and a keyring file (`--keyring`: keys with roles, thresholds, revoked keys)
//! makes `inspect`, `serve` and `fetch` refuse a plan one role alone signed and accept it once
//! co-signed, over real HTTP on 127.0.0.1. Legacy `--pubkey` trust (any one key) accepts the
//! co-signed envelope too. Keyring file mistakes name their JSON path.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{path, scratch, trackgate, write_plan, ServeProcess, PLAN_WITH_WARNING};

/// `trackgate keygen --out DIRECTORY --role ROLE`: the paths of `signing.key` and `public.hex`.
fn keygen_role(directory: &Path, role: &str) -> (PathBuf, PathBuf) {
    let run = trackgate(&["keygen", "--out", path(directory), "--role", role]);
    run.assert_code(0);
    assert!(run.stdout.contains(&format!("(role {role})")), "{}", run.stdout);
    (directory.join("signing.key"), directory.join("public.hex"))
}

/// The value after `signed digest ` in a command's output.
fn signed_digest(stdout: &str) -> String {
    let line = stdout.lines().find_map(|line| line.strip_prefix("signed digest ")).expect("prints the digest");
    line.split_whitespace().next().unwrap_or_default().to_owned()
}

/// A keyring file requiring one business and one technical key.
fn two_role_keyring(directory: &Path, business: &Path, technical: &Path, revoked: &[&str]) -> PathBuf {
    let hex = |file: &Path| std::fs::read_to_string(file).unwrap().trim().to_owned();
    let revoked: Vec<String> = revoked.iter().map(|id| format!("\"{id}\"")).collect();
    let json = format!(
        r#"{{"keys": [{{"public": "{}", "role": "business"}}, {{"public": "{}", "role": "technical"}}],
            "threshold": {{"business": 1, "technical": 1}}, "revoked": [{}]}}"#,
        hex(business),
        hex(technical),
        revoked.join(", ")
    );
    let file = directory.join(format!("keyring-{}.json", revoked.len()));
    std::fs::write(&file, json).unwrap();
    file
}

#[test]
fn a_plan_one_role_signed_is_refused_until_the_other_role_co_signs() {
    let directory = scratch("cosign-flow");
    let (business, business_hex) = keygen_role(&directory.join("business"), "business");
    let (technical, technical_hex) = keygen_role(&directory.join("technical"), "technical");
    let signing = std::fs::read_to_string(&business).unwrap();
    assert!(signing.starts_with("trackgate signing key v1 role=business\n"), "{signing}");
    let public = std::fs::read_to_string(directory.join("business/public.key")).unwrap();
    assert!(public.starts_with("trackgate public key v1 role=business\n"), "{public}");
    let keyring = two_role_keyring(&directory, &business_hex, &technical_hex, &[]);

    let plan = write_plan("cosign-plan.json", PLAN_WITH_WARNING);
    let plans = directory.join("plans");
    std::fs::create_dir_all(&plans).unwrap();
    let envelope = plans.join("shop-4.tgplan");
    let built = trackgate(&[
        "build",
        &plan,
        "--key",
        path(&business),
        "--format",
        "2",
        "--version",
        "4",
        "--out",
        path(&envelope),
    ]);
    built.assert_code(0);
    assert!(
        built.stdout.contains("format 2, signed by key") && built.stdout.contains("(business)"),
        "{}",
        built.stdout
    );
    let digest = signed_digest(&built.stdout);

    // One role alone: refused by inspect, not served by a keyring-checking server, refused by
    // a device with the keyring.
    let inspected = trackgate(&["inspect", path(&envelope), "--keyring", path(&keyring)]);
    inspected.assert_code(1);
    assert!(
        inspected.stderr.contains("not enough signatures for role `technical`: have 0 of 1"),
        "{}",
        inspected.stderr
    );
    {
        let mut checking = ServeProcess::start(&[path(&plans), "--keyring", path(&keyring)]);
        checking.wait_for_log("not enough signatures for role `technical`", Duration::from_secs(20));
    }
    // Each fetch is a new device: a refused plan makes a device back off before asking again.
    let devices = std::cell::Cell::new(0);
    let fetch = |server: &ServeProcess, trust: &[&str]| {
        devices.set(devices.get() + 1);
        let store = directory.join(format!("device-{}", devices.get()));
        let mut arguments = vec!["fetch", &server.base_url, "--app", "shop", "--env", "prod", "--store", path(&store)];
        arguments.extend_from_slice(trust);
        trackgate(&arguments)
    };
    {
        let server = ServeProcess::start(&[path(&plans)]);
        let refused = fetch(&server, &["--keyring", path(&keyring)]);
        refused.assert_code(1);
        assert!(refused.stderr.contains("not enough signatures for role `technical`"), "{}", refused.stderr);
    }

    // The technical reviewer co-signs; the signed digest does not change; signing twice is refused.
    let signed = trackgate(&["sign", path(&envelope), "--key", path(&technical)]);
    signed.assert_code(0);
    assert!(
        signed.stdout.contains("added signature 1 by key") && signed.stdout.contains("2 signature(s)"),
        "{}",
        signed.stdout
    );
    assert_eq!(signed_digest(&signed.stdout), digest);
    let again = trackgate(&["sign", path(&envelope), "--key", path(&technical)]);
    again.assert_code(1);
    assert!(again.stderr.contains("already signed this envelope"), "{}", again.stderr);

    let inspected = trackgate(&["inspect", path(&envelope), "--keyring", path(&keyring)]);
    inspected.assert_code(0);
    assert!(inspected.stdout.contains("(business), key"), "{}", inspected.stdout);
    assert!(inspected.stdout.contains("policy: 1 business + 1 technical"), "{}", inspected.stdout);
    assert!(inspected.stdout.contains(&format!("signed digest:  {digest}")), "{}", inspected.stdout);
    {
        let server = ServeProcess::start(&[path(&plans), "--keyring", path(&keyring)]);
        let installed = fetch(&server, &["--keyring", path(&keyring)]);
        installed.assert_code(0);
        assert!(installed.stdout.contains("installed version 4"), "{}", installed.stdout);
        // A legacy device (one trusted key, no roles) accepts the co-signed envelope too.
        let legacy_store = directory.join("legacy-device");
        let legacy = trackgate(&[
            "fetch",
            &server.base_url,
            "--app",
            "shop",
            "--env",
            "prod",
            "--store",
            path(&legacy_store),
            "--pubkey",
            path(&business_hex),
        ]);
        legacy.assert_code(0);
        assert!(legacy.stdout.contains("installed version 4"), "{}", legacy.stdout);
    }

    // Revoking the business key (by its id) refuses the same envelope.
    let id = built.stdout.split("signed by key ").nth(1).unwrap().split_whitespace().next().unwrap().to_owned();
    let third = keygen_role(&directory.join("business-2"), "business").1;
    let hex = |file: &Path| std::fs::read_to_string(file).unwrap().trim().to_owned();
    let revoking = directory.join("keyring-revoking.json");
    std::fs::write(
        &revoking,
        format!(
            r#"{{"keys": [{{"public": "{}", "role": "business"}}, {{"public": "{}", "role": "business"}},
                {{"public": "{}", "role": "technical"}}], "threshold": {{"business": 1, "technical": 1}},
                "revoked": ["{id}"]}}"#,
            hex(&business_hex),
            hex(&third),
            hex(&technical_hex)
        ),
    )
    .unwrap();
    let inspected = trackgate(&["inspect", path(&envelope), "--keyring", path(&revoking)]);
    inspected.assert_code(1);
    assert!(inspected.stderr.contains(&format!("is by revoked key {id} (role `business`)")), "{}", inspected.stderr);
}

#[test]
fn build_and_sign_refuse_what_devices_would_refuse() {
    let directory = scratch("cosign-refusals");
    let (business, _) = keygen_role(&directory.join("business"), "business");
    let plan = write_plan("cosign-refusals-plan.json", PLAN_WITH_WARNING);
    let out = directory.join("plan.tgplan");
    let build = |extra: &[&str]| {
        let mut arguments = vec!["build", &plan, "--version", "4", "--out", path(&out)];
        arguments.extend_from_slice(extra);
        trackgate(&arguments)
    };
    let run = build(&["--key", path(&business), "--key", path(&business)]);
    run.assert_code(1);
    assert!(run.stderr.contains("is given twice"), "{}", run.stderr);
    let run = build(&["--key", path(&business), "--key", path(&business), "--format", "1"]);
    run.assert_code(2);
    assert!(run.stderr.contains("format 1 carries exactly one signature"), "{}", run.stderr);
    build(&[]).assert_code(2);
    // Format 1 (one key, the default) cannot be co-signed.
    build(&["--key", path(&business)]).assert_code(0);
    let run = trackgate(&["sign", path(&out), "--key", path(&business)]);
    run.assert_code(1);
    assert!(run.stderr.contains("a format-1 envelope holds one signature"), "{}", run.stderr);
    // Unsigned format 2, for co-signing.
    let run = build(&["--format", "2"]);
    run.assert_code(0);
    assert!(run.stdout.contains("unsigned"), "{}", run.stdout);
    trackgate(&["sign", path(&out), "--key", path(&business)]).assert_code(0);
    let run = trackgate(&["keygen", "--out", path(&directory.join("bad")), "--role", "Business Team"]);
    run.assert_code(2);
    assert!(!directory.join("bad/signing.key").exists());
}

#[test]
fn keyring_file_mistakes_name_their_json_path() {
    let directory = scratch("cosign-keyring-errors");
    let (_, business_hex) = keygen_role(&directory.join("business"), "business");
    let envelope = directory.join("none.tgplan");
    std::fs::write(&envelope, b"not read").unwrap();
    let hex = std::fs::read_to_string(&business_hex).unwrap().trim().to_owned();
    let cases = [
        (r#"{"keys": [{"public": "zz"}]}"#.to_owned(), "$.keys[0].public: key text is not hexadecimal"),
        (
            format!(r#"{{"keys": [{{"public": "{hex}", "role": "business"}}], "threshold": {{"business": 2}}}}"#),
            "$.threshold.business: role `business` needs 2",
        ),
        (format!(r#"{{"keys": [{{"public": "{hex}"}}], "threshold": {{"business": 1}}}}"#), "$.keys[0].role: key"),
        (
            format!(r#"{{"keys": [{{"public": "{hex}"}}], "revoked": ["xyz"]}}"#),
            "$.revoked[0]: a revoked key is a key id",
        ),
        (format!(r#"{{"keys": [{{"public": "{hex}", "rol": "business"}}]}}"#), "$.keys[0].rol: unknown field `rol`"),
        (r#"{"keys": [}"#.to_owned(), "keyring.json:1:"),
    ];
    let file = directory.join("keyring.json");
    for (json, expected) in cases {
        std::fs::write(&file, &json).unwrap();
        let run = trackgate(&["inspect", path(&envelope), "--keyring", path(&file)]);
        assert_ne!(run.code, 0, "{json}");
        assert!(run.stderr.contains(expected), "{json}\nexpected {expected}\ngot {}", run.stderr);
    }
    let run = trackgate(&["inspect", path(&envelope), "--keyring", path(&file), "--pubkey", path(&business_hex)]);
    run.assert_code(2);
    assert!(run.stderr.contains("not both"), "{}", run.stderr);
}
