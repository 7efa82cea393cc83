//! The console: server-rendered pages and embedded, hashed, precompressed assets.

use crate::helpers::{assert_problem, spawn_app};

/// Every `/assets/…` URL a page references.
pub fn asset_urls(html: &str) -> Vec<String> {
    html.split(['"', '\''])
        .filter(|s| s.starts_with("/assets/"))
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn the_root_serves_the_console_as_html_that_boots_the_wasm() {
    let app = spawn_app().await;
    let res = app.get("/").await;
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let html = res.text().await.unwrap();
    assert!(html.contains("<nav"), "layout with navigation");
    let urls = asset_urls(&html);
    for ext in [".js", ".wasm", ".css"] {
        assert!(
            urls.iter().any(|u| u.ends_with(ext)),
            "no {ext} asset in the page (run scripts/build-console first): {urls:?}"
        );
    }
}

#[tokio::test]
async fn the_sign_in_page_renders_without_javascript() {
    let app = spawn_app().await;
    let html = app.get("/sign-in").await.text().await.unwrap();
    assert!(html.contains("<form"));
    assert!(html.contains("type=\"email\""));
    assert!(html.contains("type=\"password\""));
}

#[tokio::test]
async fn assets_are_hashed_immutable_and_precompressed() {
    let app = spawn_app().await;
    let html = app.get("/").await.text().await.unwrap();
    let wasm = asset_urls(&html)
        .into_iter()
        .find(|u| u.ends_with(".wasm"))
        .expect("wasm url");
    // The name carries a content hash: attest_bg.<12 hex>.wasm
    let hash = wasm.rsplit('.').nth(1).unwrap();
    assert!(
        hash.len() == 12 && hash.chars().all(|c| c.is_ascii_hexdigit()),
        "{wasm}"
    );

    let plain = app
        .client
        .get(app.url(&wasm))
        .header("accept-encoding", "identity")
        .send()
        .await
        .unwrap();
    assert_eq!(plain.status(), 200);
    assert_eq!(plain.headers()["content-type"], "application/wasm");
    assert_eq!(
        plain.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert!(!plain.headers().contains_key("content-encoding"));
    let etag = plain.headers()["etag"].to_str().unwrap().to_owned();
    let raw = plain.bytes().await.unwrap();
    assert_eq!(&raw[..4], b"\0asm");

    let br = app
        .client
        .get(app.url(&wasm))
        .header("accept-encoding", "gzip, br")
        .send()
        .await
        .unwrap();
    assert_eq!(br.headers()["content-encoding"], "br");
    assert_eq!(br.headers()["vary"], "Accept-Encoding");
    assert!(br.bytes().await.unwrap().len() < raw.len());

    let gz = app
        .client
        .get(app.url(&wasm))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(gz.headers()["content-encoding"], "gzip");

    let cached = app
        .client
        .get(app.url(&wasm))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(cached.status(), 304);
}

#[tokio::test]
async fn a_stale_or_unknown_asset_name_is_404() {
    let app = spawn_app().await;
    assert_problem(app.get("/assets/attest.000000000000.js").await, 404, "not_found").await;
    assert_problem(app.get("/assets/attest.js").await, 404, "not_found").await;
}
