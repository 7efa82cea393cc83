//! The public status page: operators run incidents and maintenances through
//! `/api/v1/status/*`; the public reads `/status`, its feed and `/api/v2/*.json`
//! (the hosted status-page API's shapes), and subscribes by mail (double opt-in).

use std::time::Duration;

use chrono::Utc;
use reqwest::Method;
use serde_json::{json, Value};

use crate::{
    auth::{login, Browser, PASSWORD},
    helpers::{free_port, spawn_app_on, spawn_app_with, TestApp, TestDatabase},
    mail::{wait_for_message, SmtpServer},
};

async fn operator(app: &TestApp) -> Browser {
    app.create_operator("ops@example.com", PASSWORD).await;
    login(app, "ops@example.com", PASSWORD).await
}

async fn created(ops: &Browser, path: &str, body: Value) -> Value {
    let res = ops.send(Method::POST, path, Some(body)).await;
    assert_eq!(res.status(), 201, "{path}");
    res.json().await.unwrap()
}

async fn public_json(app: &TestApp, path: &str) -> Value {
    let res = app.get(path).await;
    assert_eq!(res.status(), 200, "{path}");
    assert!(res.headers().get("set-cookie").is_none(), "{path} sets no cookie");
    assert_eq!(res.headers()["access-control-allow-origin"], "*");
    res.json().await.unwrap()
}

/// The hosted API's required members, with their types.
fn assert_shape(doc: &Value) {
    let page = &doc["page"];
    for key in ["id", "name", "url", "time_zone", "updated_at"] {
        assert!(page[key].is_string(), "page.{key} in {doc}");
    }
    if let Some(status) = doc.get("status") {
        let indicator = status["indicator"].as_str().unwrap();
        assert!(["none", "minor", "major", "critical"].contains(&indicator));
        assert!(status["description"].is_string());
    }
    for c in doc
        .get("components")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        for key in ["id", "name", "status", "created_at", "updated_at", "page_id"] {
            assert!(c[key].is_string(), "component.{key} in {c}");
        }
        assert!(c["position"].is_number() && c["group"].is_boolean() && c["showcase"].is_boolean());
        let status = c["status"].as_str().unwrap();
        assert!([
            "operational",
            "degraded_performance",
            "partial_outage",
            "major_outage",
            "under_maintenance"
        ]
        .contains(&status));
    }
    let incidents = doc
        .get("incidents")
        .into_iter()
        .chain(doc.get("scheduled_maintenances"));
    for i in incidents.flat_map(|list| list.as_array().unwrap()) {
        for key in [
            "id",
            "name",
            "status",
            "impact",
            "created_at",
            "updated_at",
            "shortlink",
            "page_id",
        ] {
            assert!(i[key].is_string(), "incident.{key} in {i}");
        }
        assert!(i["components"].is_array());
        for u in i["incident_updates"].as_array().unwrap() {
            for key in ["id", "status", "body", "incident_id", "created_at", "display_at"] {
                assert!(u[key].is_string(), "update.{key} in {u}");
            }
        }
    }
}

#[tokio::test]
async fn an_incident_shows_on_the_public_page_and_resolving_it_restores_the_page() {
    let app = spawn_app_with(&[]).await;
    let ops = operator(&app).await;
    let api = created(
        &ops,
        "/api/v1/status/components",
        json!({"name": "API", "group": "Core"}),
    )
    .await;
    let console = created(
        &ops,
        "/api/v1/status/components",
        json!({"name": "Console", "group": "Core"}),
    )
    .await;
    created(
        &ops,
        "/api/v1/status/components",
        json!({"name": "Mail", "description": "Outgoing mail"}),
    )
    .await;
    let api_id = api["id"].as_str().unwrap().to_owned();

    let summary = public_json(&app, "/api/v2/summary.json").await;
    assert_shape(&summary);
    assert_eq!(summary["status"]["indicator"], "none");
    assert_eq!(summary["status"]["description"], "All Systems Operational");
    // A group, its two members, then the ungrouped component.
    let names: Vec<&str> = summary["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Core", "API", "Console", "Mail"]);
    assert_eq!(summary["components"][0]["group"], true);
    assert_eq!(
        summary["components"][1]["group_id"],
        summary["components"][0]["id"]
    );

    let incident = created(
        &ops,
        "/api/v1/status/incidents",
        json!({"name": "Elevated API errors", "impact": "major", "status": "investigating",
            "message": "We are looking into failing requests.",
            "components": {api_id.clone(): "partial_outage", console["id"].as_str().unwrap(): "degraded_performance"}}),
    )
    .await;
    let summary = public_json(&app, "/api/v2/summary.json").await;
    assert_shape(&summary);
    assert_eq!(summary["status"]["indicator"], "major");
    assert_eq!(summary["components"][1]["status"], "partial_outage");
    // The group shows its worst member.
    assert_eq!(summary["components"][0]["status"], "partial_outage");
    assert_eq!(summary["incidents"][0]["name"], "Elevated API errors");

    let res = app.client.get(app.url("/status")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers().get("set-cookie").is_none());
    let html = res.text().await.unwrap();
    assert!(
        html.contains("Elevated API errors") && html.contains("Partial outage"),
        "{html}"
    );
    assert!(html.contains("We are looking into failing requests."));
    assert!(!html.contains("<script"), "the page needs no script");
    assert!(!html.contains("All systems operational"));

    let updates = format!(
        "/api/v1/status/incidents/{}/updates",
        incident["id"].as_str().unwrap()
    );
    created(
        &ops,
        &updates,
        json!({"status": "monitoring", "message": "A fix is rolling out."}),
    )
    .await;
    let resolved = created(
        &ops,
        &updates,
        json!({"status": "resolved", "message": "Requests succeed again."}),
    )
    .await;
    assert_eq!(resolved["status"], "resolved");
    assert!(resolved["resolved_at"].is_string());
    // Resolving returned every affected component to operational.
    assert!(resolved["components"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["status"] == "operational"));

    let summary = public_json(&app, "/api/v2/summary.json").await;
    assert_eq!(summary["status"]["indicator"], "none");
    assert_eq!(summary["incidents"], json!([]));
    assert_eq!(
        public_json(&app, "/api/v2/incidents/unresolved.json").await["incidents"],
        json!([])
    );
    let incidents = public_json(&app, "/api/v2/incidents.json").await;
    assert_shape(&incidents);
    let updates = incidents["incidents"][0]["incident_updates"]
        .as_array()
        .unwrap()
        .clone();
    let statuses: Vec<&str> = updates.iter().map(|u| u["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["resolved", "monitoring", "investigating"]);
    let back = updates[0]["affected_components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["code"] == api_id.as_str())
        .unwrap()
        .clone();
    assert_eq!(
        (back["old_status"].as_str(), back["new_status"].as_str()),
        (Some("partial_outage"), Some("operational"))
    );
    let html = app.get("/status").await.text().await.unwrap();
    assert!(html.contains("All systems operational"), "{html}");
    assert!(
        html.contains("Elevated API errors"),
        "listed under past incidents"
    );
    // The outage cost the API some of today's uptime: its bar is drawn.
    assert!(html.contains("worst Partial outage"), "{html}");
    assert!(html.len() < 50_000, "{} bytes", html.len());

    let feed = app.get("/status/feed.atom").await;
    assert_eq!(
        feed.headers()["content-type"],
        "application/atom+xml; charset=utf-8"
    );
    let xml = feed.text().await.unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let root = doc.root_element();
    assert_eq!(root.tag_name().namespace(), Some("http://www.w3.org/2005/Atom"));
    let titles: Vec<String> = root
        .children()
        .filter(|n| n.has_tag_name("entry"))
        .map(|e| {
            e.children()
                .find(|n| n.has_tag_name("title"))
                .unwrap()
                .text()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(
        titles,
        [
            "Elevated API errors: Resolved",
            "Elevated API errors: Monitoring",
            "Elevated API errors: Investigating"
        ]
    );

    // Conditional requests: the same rendering is 304.
    let res = app.get("/api/v2/status.json").await;
    let etag = res.headers()["etag"].to_str().unwrap().to_owned();
    let again = app
        .client
        .get(app.url("/api/v2/status.json"))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
}

#[tokio::test]
async fn bad_input_is_refused_with_the_field_and_changes_nothing() {
    let app = spawn_app_with(&[]).await;
    let ops = operator(&app).await;
    let res = ops
        .send(
            Method::POST,
            "/api/v1/status/components",
            Some(json!({"name": " ", "status": "sideways"})),
        )
        .await;
    assert_eq!(res.status(), 400);
    let res = ops
        .send(
            Method::POST,
            "/api/v1/status/components",
            Some(json!({"name": " "})),
        )
        .await;
    let problem: Value = res.json().await.unwrap();
    assert_eq!(problem["errors"][0]["field"], "name");
    let unknown = uuid::Uuid::now_v7();
    let res = ops
        .send(
            Method::POST,
            "/api/v1/status/incidents",
            Some(
                json!({"name": "x", "impact": "minor", "status": "investigating", "message": "m",
                "components": {unknown.to_string(): "major_outage"}}),
            ),
        )
        .await;
    let problem: Value = res.json().await.unwrap();
    assert_eq!(problem["errors"][0]["field"], format!("components.{unknown}"));
    let res = ops
        .send(
            Method::POST,
            "/api/v1/status/maintenances",
            Some(
                json!({"name": "x", "message": "m", "scheduled_for": "2030-01-01T01:00:00Z",
                "scheduled_until": "2030-01-01T00:00:00Z"}),
            ),
        )
        .await;
    let problem: Value = res.json().await.unwrap();
    assert_eq!(problem["errors"][0]["field"], "scheduled_until");
    let summary = public_json(&app, "/api/v2/summary.json").await;
    assert_eq!(
        (summary["components"].clone(), summary["incidents"].clone()),
        (json!([]), json!([]))
    );
    assert_eq!(
        public_json(&app, "/api/v2/scheduled-maintenances.json").await["scheduled_maintenances"],
        json!([])
    );
}

#[tokio::test]
async fn a_maintenance_starts_and_completes_by_itself() {
    let app = spawn_app_with(&[]).await;
    let ops = operator(&app).await;
    let mail = created(&ops, "/api/v1/status/components", json!({"name": "Mail"})).await;
    let start = Utc::now() + chrono::Duration::milliseconds(1500);
    let end = start + chrono::Duration::milliseconds(1500);
    created(
        &ops,
        "/api/v1/status/maintenances",
        json!({"name": "Mail relay upgrade", "message": "Mail may be delayed.", "scheduled_for": start,
            "scheduled_until": end, "component_ids": [mail["id"]]}),
    )
    .await;
    let upcoming = public_json(&app, "/api/v2/scheduled-maintenances/upcoming.json").await;
    assert_shape(&upcoming);
    assert_eq!(upcoming["scheduled_maintenances"][0]["status"], "scheduled");
    assert_eq!(
        public_json(&app, "/api/v2/scheduled-maintenances/active.json").await["scheduled_maintenances"],
        json!([])
    );

    tokio::time::sleep_until(
        tokio::time::Instant::now()
            + (start - Utc::now()).to_std().unwrap_or_default()
            + Duration::from_millis(100),
    )
    .await;
    let active = public_json(&app, "/api/v2/scheduled-maintenances/active.json").await;
    assert_eq!(active["scheduled_maintenances"][0]["status"], "in_progress");
    let summary = public_json(&app, "/api/v2/summary.json").await;
    assert_eq!(summary["components"][0]["status"], "under_maintenance");
    assert_eq!(summary["status"]["indicator"], "none");
    assert_eq!(summary["status"]["description"], "Service Under Maintenance");

    tokio::time::sleep_until(
        tokio::time::Instant::now()
            + (end - Utc::now()).to_std().unwrap_or_default()
            + Duration::from_millis(100),
    )
    .await;
    let summary = public_json(&app, "/api/v2/summary.json").await;
    assert_eq!(summary["components"][0]["status"], "operational");
    assert_eq!(summary["scheduled_maintenances"], json!([]));
    let all = public_json(&app, "/api/v2/scheduled-maintenances.json").await;
    assert_eq!(all["scheduled_maintenances"][0]["status"], "completed");
}

#[tokio::test]
async fn another_instance_serves_a_change_within_a_second() {
    let db = TestDatabase::create().await;
    let a = spawn_app_on(db.share(), &[]).await;
    let b = spawn_app_on(db, &[]).await;
    let ops = operator(&a).await;
    assert_eq!(
        public_json(&b, "/api/v2/components.json").await["components"],
        json!([])
    );
    created(
        &ops,
        "/api/v1/status/components",
        json!({"name": "API", "status": "major_outage"}),
    )
    .await;
    // This instance at once; the other within its recheck interval.
    assert_eq!(
        public_json(&a, "/api/v2/status.json").await["status"]["indicator"],
        "critical"
    );
    let deadline = tokio::time::Instant::now() + Duration::from_millis(1500);
    loop {
        let status = public_json(&b, "/api/v2/status.json").await;
        if status["status"]["indicator"] == "critical" {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the other instance still shows {status}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn the_platform_chain_is_nobody_s_org() {
    let app = spawn_app_with(&[]).await;
    let ops = operator(&app).await;
    created(&ops, "/api/v1/status/components", json!({"name": "API"})).await;
    let orgs: Value = ops.get("/api/v1/orgs").await.json().await.unwrap();
    assert_eq!(orgs["items"], json!([]));
    for path in [
        "/api/v1/orgs/-platform",
        "/api/v1/orgs/00000000-0000-0000-0000-000000000000",
    ] {
        assert_eq!(ops.get(path).await.status(), 404, "{path}");
    }
    let verified = attest_core::audit::verify::verify_all(&app.state, None)
        .await
        .unwrap();
    let (slug, verification) = &verified[0];
    assert_eq!(slug, "-platform");
    assert!(
        matches!(
            verification,
            attest_core::audit::verify::Verification::Intact { events: 1, .. }
        ),
        "{verification:?}"
    );
}

/// The link of `path` in a mail's body (the whole URL; the last one, as
/// headers are not quoted-printable and the test's decoding would garble them).
fn link(mail: &str, path: &str) -> String {
    let at = mail.rfind(path).unwrap();
    let start = mail[..at].rfind("http").unwrap();
    let rest = &mail[start..];
    let end = rest
        .find(|c: char| c.is_whitespace() || c == '"' || c == '<' || c == '>')
        .unwrap_or(rest.len());
    rest[..end].to_owned()
}

#[tokio::test]
async fn subscribers_confirm_by_mail_and_unsubscribe_in_one_click() {
    let port = free_port();
    let smtp = SmtpServer::start(port);
    let app = spawn_app_with(&[("ATTEST_SMTP_URL", &format!("smtp://127.0.0.1:{port}"))]).await;
    let ops = operator(&app).await;
    let res = app
        .post_json("/status/subscriptions", &json!({"email": "Reader@Example.com"}))
        .await;
    assert_eq!(res.status(), 202);
    let res = app
        .post_json("/status/subscriptions", &json!({"email": "not an address"}))
        .await;
    assert_eq!(res.status(), 400);
    let mail = wait_for_message(&smtp.maildir, "To: reader@example.com", Duration::from_secs(10)).await;
    let confirm = link(&mail, "/status/subscriptions/confirm?token=");
    let token = confirm.split("token=").nth(1).unwrap();

    // Before confirming, incidents mail nobody.
    let api = created(&ops, "/api/v1/status/components", json!({"name": "API"})).await;
    let incident = created(
        &ops,
        "/api/v1/status/incidents",
        json!({"name": "First outage", "impact": "minor", "status": "investigating", "message": "Looking."}),
    )
    .await;
    // The link opens a page with a button; only the button confirms.
    let page = app
        .get(&format!("/status/subscriptions/confirm?token={token}"))
        .await;
    assert!(page.text().await.unwrap().contains("method=\"post\""));
    let res = app
        .client
        .post(app.url(&format!("/status/subscriptions/confirm?token={token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let replay = app
        .client
        .post(app.url(&format!("/status/subscriptions/confirm?token={token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), 404, "a confirmation link works once");

    // A confirmed address subscribing again: the same answer, no mail.
    let res = app
        .post_json("/status/subscriptions", &json!({"email": "reader@example.com"}))
        .await;
    assert_eq!(res.status(), 202);

    let updates = format!(
        "/api/v1/status/incidents/{}/updates",
        incident["id"].as_str().unwrap()
    );
    created(
        &ops,
        &updates,
        json!({"status": "identified", "message": "Second step.", "components": {api["id"].as_str().unwrap(): "major_outage"}}),
    )
    .await;
    let notice = wait_for_message(&smtp.maildir, "Second step.", Duration::from_secs(10)).await;
    assert!(
        notice.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"),
        "{notice}"
    );
    let unsubscribe = link(&notice, "/status/subscriptions/unsubscribe?token=");
    let header = format!(
        "List-Unsubscribe: <{}",
        unsubscribe.split("?token").next().unwrap()
    );
    assert!(notice.contains(&header), "{notice}");
    let messages = crate::mail::messages_in(&smtp.maildir);
    assert!(
        !messages.iter().any(|m| m.contains("Looking.")),
        "the unconfirmed address got no notice"
    );
    assert_eq!(
        messages
            .iter()
            .filter(|m| m.contains("Confirm your subscription"))
            .count(),
        1
    );

    // RFC 8058: the mail client posts, naming no origin.
    let res = app
        .client
        .post(unsubscribe.replace(&app.state.config.public_url, &app.address))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    created(
        &ops,
        &updates,
        json!({"status": "resolved", "message": "Third step."}),
    )
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(!crate::mail::messages_in(&smtp.maildir)
        .iter()
        .any(|m| m.contains("Third step.")));
    let forged = app
        .client
        .post(app.url("/status/subscriptions/unsubscribe?token=abc.def"))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 404);
}
