//! `attest config check` and start-up refusal: every problem listed, no secret echoed.

use std::collections::BTreeMap;

use crate::helpers::attest_command;

fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

const SECRET: &str = "too-short-but-recognisable-secret";

#[test]
fn config_check_in_production_lists_every_problem_and_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    let out = attest_command(
        dir.path(),
        &env(&[
            ("ATTEST_ENV", "production"),
            ("ATTEST_SECRET_KEY", SECRET),
            ("ATTEST_METRICS_TOKEN", "metrics-token-value"),
            ("ATTEST_DATABASE_URL", "mysql://admin:hunter2@db/attest"),
            ("ATTEST_ALLOWED_ORIGINS", "*"),
        ]),
    )
    .args(["config", "check"])
    .output()
    .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let problem_lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.trim_start().starts_with("- "))
        .collect();
    for key in [
        "ATTEST_PUBLIC_URL",
        "ATTEST_SECRET_KEY",
        "ATTEST_DATABASE_URL",
        "ATTEST_ALLOWED_ORIGINS",
    ] {
        assert_eq!(
            problem_lines.iter().filter(|l| l.contains(key)).count(),
            1,
            "{key} on exactly one line:\n{stderr}"
        );
    }
    assert_eq!(problem_lines.len(), 4, "{stderr}");
    let all = format!("{stderr}{}", String::from_utf8_lossy(&out.stdout));
    for secret in [SECRET, "hunter2", "metrics-token-value"] {
        assert!(!all.contains(secret), "{secret} echoed:\n{all}");
    }
}

#[test]
fn serve_refuses_to_start_in_production_with_the_same_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let out = attest_command(dir.path(), &env(&[("ATTEST_ENV", "production")]))
        .arg("serve")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("ATTEST_PUBLIC_URL"), "{stderr}");
    assert!(stderr.contains("ATTEST_SECRET_KEY"), "{stderr}");
    assert!(!dir.path().join("data").exists(), "nothing was created");
}

#[test]
fn config_check_accepts_the_defaults_and_a_valid_production_setup() {
    let dir = tempfile::tempdir().unwrap();
    let out = attest_command(dir.path(), &env(&[]))
        .args(["config", "check"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let out = attest_command(
        dir.path(),
        &env(&[
            ("ATTEST_ENV", "production"),
            ("ATTEST_PUBLIC_URL", "https://attest.example.com"),
            ("ATTEST_SECRET_KEY", crate::helpers::TEST_SECRET_KEY),
        ]),
    )
    .args(["config", "check"])
    .output()
    .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn config_file_values_are_read_and_checked_too() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("attest.toml"), "listen = \"not an address\"\n").unwrap();
    let out = attest_command(dir.path(), &env(&[]))
        .args(["config", "check"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("ATTEST_LISTEN"));
}
