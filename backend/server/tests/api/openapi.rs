//! The OpenAPI document covers exactly the route table, with schemas, problem
//! answers and security; the interactive docs are served from the binary.

use std::collections::BTreeSet;

use attest_server::routes;
use serde_json::Value;

use crate::helpers::spawn_app;

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

#[tokio::test]
async fn the_document_covers_every_route_of_the_table_and_nothing_else() {
    let app = spawn_app().await;
    let res = app.get("/api/v1/openapi.json").await;
    assert_eq!(res.status(), 200);
    let doc: Value = res.json().await.unwrap();
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    // One licence: LICENSE, Cargo.toml and the document say the same.
    assert_eq!(doc["info"]["license"]["identifier"], env!("CARGO_PKG_LICENSE"));
    let license = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../LICENSE")).unwrap();
    assert!(license.starts_with("GNU AFFERO GENERAL PUBLIC LICENSE\nVersion 3"));

    let documented: BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            METHODS
                .iter()
                .filter(|m| item.get(**m).is_some())
                .map(move |m| (m.to_uppercase(), path.clone()))
        })
        .collect();
    let routed: BTreeSet<(String, String)> = routes::table()
        .iter()
        .map(|r| (r.method.to_string(), r.path.to_owned()))
        .collect();
    let undocumented: Vec<_> = routed.difference(&documented).collect();
    let unrouted: Vec<_> = documented.difference(&routed).collect();
    assert!(
        undocumented.is_empty() && unrouted.is_empty(),
        "routes missing from the document: {undocumented:?}; documented but not routed: {unrouted:?}"
    );

    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["api_key"]["scheme"], "bearer");
    assert_eq!(schemes["session"]["in"], "cookie");
    assert!(doc["components"]["schemas"]["Problem"]["properties"]["code"].is_object());

    for route in routes::table() {
        let op = &doc["paths"][route.path][route.method.as_str().to_lowercase()];
        let name = format!("{} {}", route.method, route.path);
        let responses = op["responses"].as_object().unwrap();
        assert!(
            responses.keys().any(|s| s.starts_with('2') || s.starts_with('3')),
            "{name} has no success answer"
        );
        assert!(
            responses.contains_key("429"),
            "{name} does not document rate limiting"
        );
        // OFREP answers its errors in its own shape.
        let (content_type, schema) = match route.access {
            routes::Access::Key(_) => ("application/json", "EvaluationFailure"),
            _ => ("application/problem+json", "Problem"),
        };
        let error = &responses["500"]["content"][content_type]["schema"]["$ref"];
        assert_eq!(*error, format!("#/components/schemas/{schema}"), "{name}");
        for placeholder in route.path.split('/').filter(|s| s.starts_with('{')) {
            let param = placeholder.trim_matches(|c| c == '{' || c == '}');
            assert!(
                op["parameters"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|p| p["name"] == param && p["in"] == "path"),
                "{name} does not describe {param}"
            );
        }
        let security = serde_json::to_string(&op["security"]).unwrap();
        if route.path.starts_with("/api/v1/orgs/{org}") {
            assert!(
                security.contains("api_key") && security.contains("session"),
                "{name}: {security}"
            );
        }
        if ["POST", "PUT", "PATCH"].contains(&route.method.as_str()) && op["requestBody"].is_object() {
            assert!(
                op["requestBody"]["content"].as_object().unwrap().len() == 1,
                "{name}"
            );
        }
    }
    // Bodies name their schemas, with examples where they help.
    let create_key = &doc["paths"]["/api/v1/orgs/{org}/api-keys"]["post"];
    assert_eq!(
        create_key["requestBody"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/CreateApiKey"
    );
    assert_eq!(
        create_key["responses"]["201"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/CreatedApiKey"
    );
}

#[tokio::test]
async fn the_interactive_docs_are_served_from_the_binary() {
    let app = spawn_app().await;
    let bare = app.get("/api/docs").await;
    assert_eq!(bare.status(), 301);
    assert_eq!(bare.headers()["location"], "/api/docs/");
    let res = app.get("/api/docs/").await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(html.contains("swagger-ui"), "{html}");
    assert!(
        !html.contains("src=\"http") && !html.contains("href=\"http"),
        "nothing from a CDN: {html}"
    );
    let script = app.get("/api/docs/swagger-ui-bundle.js").await;
    assert_eq!(script.status(), 200);
    assert!(script.bytes().await.unwrap().len() > 100_000);
    let init = app
        .get("/api/docs/swagger-initializer.js")
        .await
        .text()
        .await
        .unwrap();
    assert!(init.contains("/api/v1/openapi.json"), "{init}");
}

/// Every resource that carries a version says per route how `If-Match` works:
/// required (`428` without it) or honoured when sent; a stale one is `412`.
#[tokio::test]
async fn optimistic_locking_is_documented_per_route() {
    let app = spawn_app().await;
    let doc: Value = app.get("/api/v1/openapi.json").await.json().await.unwrap();
    let if_match = |method: &str, path: &str| {
        let operation = &doc["paths"][path][method];
        let param = operation["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| p["name"] == "If-Match" && p["in"] == "header")
            .map(|p| p["required"] == true);
        let answers = |status: &str| operation["responses"].get(status).is_some();
        (param, answers("412"), answers("428"))
    };
    for path in [
        "/api/v1/orgs/{org}",
        "/api/v1/orgs/{org}/flags/{key}",
        "/api/v1/orgs/{org}/controls/{id}",
        "/api/v1/orgs/{org}/evidence/{id}",
        "/api/v1/orgs/{org}/policies/{id}",
    ] {
        assert_eq!(if_match("patch", path), (Some(true), true, true), "{path}");
    }
    for (method, path) in [
        ("put", "/api/v1/orgs/{org}/sso"),
        ("put", "/api/v1/orgs/{org}/roles/{name}"),
        ("put", "/api/v1/orgs/{org}/members/{user_id}/roles"),
    ] {
        assert_eq!(
            if_match(method, path),
            (Some(false), true, false),
            "{method} {path}"
        );
    }
    // No version, no precondition.
    assert_eq!(
        if_match("put", "/api/v1/orgs/{org}/audit-retention"),
        (None, false, false)
    );
}
