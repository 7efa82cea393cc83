//! Org exports: `POST …/exports` answers `202` at once, the zip is written in
//! the background, its contents match the database (the audit events still
//! verify), it never holds more than its requester may read, another org never
//! sees it, and its download ends when it expires.

use std::{collections::BTreeMap, io::Read as _};

use attest_core::store::entities::org_exports;
use reqwest::Method;
use sea_orm::{ActiveModelTrait as _, ActiveValue::Set, EntityTrait as _};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::{
    auth::{login, Browser, PASSWORD},
    backup::some_of_everything,
    compliance::json_of,
    world::{acme, Acme},
};

/// Requests an export of acme as `browser` and waits for it to be written.
async fn written(browser: &Browser) -> Value {
    let res = browser
        .send(Method::POST, "/api/v1/orgs/acme/exports", None)
        .await;
    assert_eq!(res.status(), 202);
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let queued: Value = res.json().await.unwrap();
    assert!(["queued", "running", "completed"].contains(&queued["status"].as_str().unwrap()));
    assert_eq!(
        location,
        format!("/api/v1/orgs/acme/exports/{}", queued["id"].as_str().unwrap())
    );
    for _ in 0..400 {
        let status = json_of(browser.get(&location).await, 200).await;
        match status["status"].as_str().unwrap() {
            "completed" => return status,
            "failed" => panic!("the export failed: {status}"),
            _ => tokio::time::sleep(std::time::Duration::from_millis(25)).await,
        }
    }
    panic!("the export was not written in 10 s");
}

/// The zip's entries by name.
fn entries(zip: &[u8]) -> BTreeMap<String, Vec<u8>> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip)).unwrap();
    (0..archive.len())
        .map(|i| {
            let mut entry = archive.by_index(i).unwrap();
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).unwrap();
            (entry.name().to_owned(), bytes)
        })
        .collect()
}

async fn download(browser: &Browser, export: &Value) -> reqwest::Response {
    browser.get(export["download_url"].as_str().unwrap()).await
}

#[tokio::test]
async fn an_export_holds_the_orgs_data_as_stored_with_a_verifiable_trail() {
    let Acme { app: _app, ada, .. } = acme().await;
    let file = some_of_everything(&ada).await;
    let export = written(&ada).await;
    assert_eq!(export["progress"], 100);
    let res = download(&ada, &export).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/zip");
    assert!(res.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment; filename=\"attest-acme-"));
    let zip = res.bytes().await.unwrap();
    assert_eq!(export["size"], zip.len());
    assert_eq!(export["sha256"], attest_core::crypto::sha256_hex(&zip));

    let entries = entries(&zip);
    let manifest: Value = serde_json::from_slice(&entries["manifest.json"]).unwrap();
    assert_eq!(manifest["org"]["slug"], "acme");
    assert_eq!(manifest["omitted"], json!([]), "the owner may read everything");
    for entry in manifest["entries"].as_array().unwrap() {
        let bytes = &entries[entry["path"].as_str().unwrap()];
        assert_eq!(entry["sha256"], attest_core::crypto::sha256_hex(bytes), "{entry}");
    }
    let members: Value = serde_json::from_slice(&entries["members.json"]).unwrap();
    assert_eq!(members[0]["email"], "ada@example.com");
    let controls: Value = serde_json::from_slice(&entries["controls.json"]).unwrap();
    assert_eq!(controls[0]["title"], "MFA everywhere");
    let policies: Value = serde_json::from_slice(&entries["policies.json"]).unwrap();
    assert_eq!(policies[0]["versions"][0]["number"], 1);
    let frameworks: Value = serde_json::from_slice(&entries["frameworks.json"]).unwrap();
    assert_eq!(frameworks[0]["requirements"].as_array().unwrap().len(), 21);
    let sha = attest_core::crypto::sha256_hex(&file);
    assert_eq!(
        entries[&format!("evidence/{sha}")],
        file,
        "the evidence file itself"
    );

    // The trail, as exported, recomputes link by link and ends at the manifest's head.
    let events: Vec<attest_shared::audit::AuditEvent> = std::str::from_utf8(&entries["audit-events.jsonl"])
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut prev = attest_shared::audit::GENESIS_HASH.to_owned();
    for event in &events {
        assert_eq!(event.prev_hash, prev);
        assert_eq!(attest_core::audit::chain::hash(event).unwrap(), event.hash);
        prev = event.hash.clone();
    }
    assert_eq!(manifest["audit_head"]["hash"], prev.as_str());
    assert!(events.iter().any(|e| e.action == "export.requested"));
    let verify = json_of(
        ada.get("/api/v1/orgs/acme/audit-events?action=export.downloaded")
            .await,
        200,
    )
    .await;
    assert_eq!(
        verify["items"].as_array().unwrap().len(),
        1,
        "the download is recorded"
    );
}

#[tokio::test]
async fn an_export_shows_no_more_than_its_requester_may_read_and_no_other_org_sees_it() {
    let Acme { app, ada, org, .. } = acme().await;
    some_of_everything(&ada).await;
    let role = json!({"name": "exporter", "permissions": ["org:read", "data:export"]});
    json_of(
        ada.send(Method::POST, "/api/v1/orgs/acme/roles", Some(role))
            .await,
        201,
    )
    .await;
    app.add_member(org, "eve@example.com", PASSWORD, &["exporter"])
        .await;
    let eve = login(&app, "eve@example.com", PASSWORD).await;
    let export = written(&eve).await;
    let zip = download(&eve, &export).await.bytes().await.unwrap();
    let entries = entries(&zip);
    let manifest: Value = serde_json::from_slice(&entries["manifest.json"]).unwrap();
    let omitted: Vec<&str> = manifest["omitted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["section"].as_str().unwrap())
        .collect();
    assert_eq!(
        omitted,
        [
            "members.json",
            "flags.json",
            "frameworks.json",
            "controls.json",
            "evidence.json",
            "policies.json",
            "audit-events.jsonl"
        ]
    );
    let names: Vec<&String> = entries.keys().collect();
    assert_eq!(names, ["manifest.json", "org.json", "roles.json"]);

    // What Eve exported is hers: not even the owner sees it; the owner's own export is
    // the owner's (Eve, who could not read most of it, cannot fetch it).
    let id = export["id"].as_str().unwrap();
    assert_eq!(
        ada.get(&format!("/api/v1/orgs/acme/exports/{id}")).await.status(),
        404
    );
    let owners = written(&ada).await;
    assert_eq!(download(&eve, &owners).await.status(), 404);

    // Initech's owner knows nothing of acme's exports, whichever path she tries.
    app.add_member(
        crate::world::create_org(&ada, "initech").await,
        "olga@example.com",
        PASSWORD,
        &["owner"],
    )
    .await;
    let olga = login(&app, "olga@example.com", PASSWORD).await;
    for path in [
        format!("/api/v1/orgs/acme/exports/{id}"),
        format!("/api/v1/orgs/acme/exports/{id}/file"),
        format!("/api/v1/orgs/initech/exports/{id}"),
        format!("/api/v1/orgs/initech/exports/{id}/file"),
    ] {
        assert_eq!(olga.get(&path).await.status(), 404, "{path}");
    }
}

#[tokio::test]
async fn an_expired_export_is_gone_and_says_so() {
    let Acme { app, ada, .. } = acme().await;
    let export = written(&ada).await;
    let id: Uuid = export["id"].as_str().unwrap().parse().unwrap();
    let row = org_exports::Entity::find_by_id(id)
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    let file = app
        .dir
        .path()
        .join("exports")
        .join(row.org_id.to_string())
        .join(format!("{id}.zip"));
    assert!(file.exists());
    let mut active: org_exports::ActiveModel = row.into();
    active.expires_at = Set(Some((chrono::Utc::now() - chrono::Duration::seconds(1)).into()));
    active.update(&app.state.db).await.unwrap();

    let status = json_of(ada.get(&format!("/api/v1/orgs/acme/exports/{id}")).await, 200).await;
    assert_eq!(status["status"], "expired");
    assert_eq!(status["download_url"], Value::Null);
    let res = ada.get(&format!("/api/v1/orgs/acme/exports/{id}/file")).await;
    crate::helpers::assert_problem(res, 409, "conflict").await;
    assert!(!file.exists(), "the file is removed with its window");
}
