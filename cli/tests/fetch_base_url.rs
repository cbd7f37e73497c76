//! `trackgate fetch` takes the server's base URL with `--app` and `--env` (real HTTP on
//! 127.0.0.1), and says which URL shape it expects when it cannot tell the scope.

mod common;

use common::{keygen, path, scratch, trackgate, write_plan, ServeProcess, PLAN_WITH_WARNING};

#[test]
fn a_base_url_with_app_and_env_fetches_the_plan() {
    let directory = scratch("fetch-base");
    let (signing, public, _) = keygen(&directory.join("keys"));
    let plans = directory.join("plans");
    std::fs::create_dir_all(&plans).unwrap();
    let plan = write_plan("fetch-base-plan.json", PLAN_WITH_WARNING);
    trackgate(&["build", &plan, "--key", path(&signing), "--version", "4", "--out", path(&plans.join("p.tgplan"))])
        .assert_code(0);
    let server = ServeProcess::start(&[path(&plans)]);
    let store = directory.join("store");
    let fetch = |url: &str, scope: &[&str]| {
        let mut arguments = vec!["fetch", url, "--pubkey", path(&public), "--store", path(&store), "--timeout", "10"];
        arguments.extend_from_slice(scope);
        trackgate(&arguments)
    };

    let run = fetch(&server.base_url, &[]);
    run.assert_code(2);
    assert!(run.stderr.contains("is a base URL (no /v1/plans/ in it): pass --app and --env"), "{}", run.stderr);
    assert!(!run.stderr.contains("app is empty"), "{}", run.stderr);

    let run = fetch(&server.base_url, &["--app", "shop", "--env", "prod"]);
    run.assert_code(0);
    assert!(run.stdout.contains("installed version 4"), "{}", run.stdout);

    let with_slash = format!("{}/", server.base_url);
    let run = fetch(&with_slash, &["--app", "shop", "--env", "prod"]);
    run.assert_code(0);
    assert!(run.stdout.contains("unchanged: version 4 is current"), "{}", run.stdout);

    let plan_url = format!("{}/v1/plans/shop/prod", server.base_url);
    let run = fetch(&plan_url, &["--env", "staging"]);
    run.assert_code(2);
    assert!(run.stderr.contains("--env staging does not match `prod`"), "{}", run.stderr);
}
