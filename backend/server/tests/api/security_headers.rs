//! DESIGN.md's security headers on API, HTML and static responses.

use crate::helpers::{spawn_app, spawn_app_with, TEST_SECRET_KEY};

fn assert_security_headers(res: &reqwest::Response, what: &str) {
    let h = res.headers();
    let csp = h
        .get("content-security-policy")
        .unwrap_or_else(|| panic!("{what}: no CSP"))
        .to_str()
        .unwrap();
    assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
    assert!(csp.contains("object-src 'none'"), "{what}: {csp}");
    assert!(!csp.contains("'unsafe-inline'"), "{what}: {csp}");
    assert_eq!(h["x-content-type-options"], "nosniff", "{what}");
    assert_eq!(h["x-frame-options"], "DENY", "{what}");
    assert_eq!(h["referrer-policy"], "strict-origin-when-cross-origin", "{what}");
    assert!(h.contains_key("permissions-policy"), "{what}");
    assert_eq!(h["cross-origin-opener-policy"], "same-origin", "{what}");
    assert!(h.contains_key("x-request-id"), "{what}");
}

#[tokio::test]
async fn api_html_static_and_error_responses_all_carry_the_headers() {
    let app = spawn_app().await;
    assert_security_headers(&app.get("/livez").await, "API");
    assert_security_headers(&app.get("/nowhere").await, "error");
    let page = app.get("/").await;
    assert_security_headers(&page, "HTML");
    let html = page.text().await.unwrap();
    let stylesheet = crate::console::asset_urls(&html)
        .into_iter()
        .find(|u| u.ends_with(".css"))
        .expect("the page links its stylesheet (run scripts/build-console first)");
    assert_security_headers(&app.get(&stylesheet).await, "static");
}

#[tokio::test]
async fn the_inline_script_carries_the_nonce_of_its_own_response() {
    let app = spawn_app().await;
    let res = app.get("/").await;
    let csp = res.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .expect("CSP has a nonce")
        .to_owned();
    let html = res.text().await.unwrap();
    assert!(
        html.contains(&format!("<script type=\"module\" nonce=\"{nonce}\">")),
        "{html}"
    );

    let again = app.get("/").await;
    let other = again.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_ne!(csp, other, "every response gets a fresh nonce");
}

#[tokio::test]
async fn hsts_is_sent_in_production_only() {
    let dev = spawn_app().await;
    assert!(!dev
        .get("/livez")
        .await
        .headers()
        .contains_key("strict-transport-security"));

    let prod = spawn_app_with(&[
        ("ATTEST_ENV", "production"),
        ("ATTEST_PUBLIC_URL", "https://attest.example.com"),
        ("ATTEST_SECRET_KEY", TEST_SECRET_KEY),
    ])
    .await;
    for path in ["/livez", "/", "/nowhere"] {
        let res = prod.get(path).await;
        let hsts = res.headers()["strict-transport-security"]
            .to_str()
            .unwrap()
            .to_owned();
        let max_age: u64 = hsts
            .split(';')
            .find_map(|part| part.trim().strip_prefix("max-age="))
            .and_then(|v| v.parse().ok())
            .unwrap();
        assert!(max_age >= 31_536_000, "{path}: {hsts}");
    }
}
