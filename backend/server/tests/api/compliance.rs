//! The compliance program: framework imports (OSCAL, CSV, the starter
//! catalog), controls and their rules, evidence with uploaded files, policies
//! with versions and acknowledgments, readiness, optimistic locking, and
//! isolation between orgs.

use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::{
    auth::{login, Browser, PASSWORD},
    helpers::assert_problem,
    world::{acme, acme_with, create_org, Acme},
};

const OSCAL: &str = r#"{"catalog": {"uuid": "2f1c7a4e-3b8d-4c5e-9f60-7a1b2c3d4e5f",
  "metadata": {"title": "Example Controls", "version": "1", "oscal-version": "1.1.2"},
  "groups": [{"id": "ac", "class": "family", "title": "Access Control",
    "controls": [
      {"id": "ac-1", "title": "Policy and Procedures",
       "parts": [{"id": "ac-1_smt", "name": "statement", "prose": "Write an access policy."}],
       "controls": [{"id": "ac-1.1", "title": "Yearly Review"}]},
      {"id": "ac-2", "title": "Account Management"}]}]}}"#;

pub async fn json_of(res: reqwest::Response, status: u16) -> Value {
    let got = res.status();
    let body: Value = res.json().await.unwrap();
    assert_eq!(got, status, "{body}");
    body
}

/// Imports `body` as `content_type` into acme.
async fn import(ada: &Browser, query: &str, content_type: &str, body: &str) -> reqwest::Response {
    ada.request(
        Method::POST,
        &format!("/api/v1/orgs/acme/frameworks/import{query}"),
    )
    .header("content-type", content_type)
    .body(body.to_owned())
    .send()
    .await
    .unwrap()
}

pub async fn starter(ada: &Browser) -> Value {
    json_of(
        ada.send(Method::POST, "/api/v1/orgs/acme/frameworks/starter", None)
            .await,
        201,
    )
    .await
}

pub async fn requirements(ada: &Browser, framework: &Value) -> Vec<Value> {
    let page = json_of(
        ada.get(&format!(
            "/api/v1/orgs/acme/frameworks/{}/requirements?limit=200",
            framework["id"].as_str().unwrap()
        ))
        .await,
        200,
    )
    .await;
    page["items"].as_array().unwrap().clone()
}

pub async fn create_control(ada: &Browser, body: Value) -> Value {
    json_of(
        ada.send(Method::POST, "/api/v1/orgs/acme/controls", Some(body))
            .await,
        201,
    )
    .await
}

async fn patch(ada: &Browser, path: &str, etag: Option<&str>, body: Value) -> reqwest::Response {
    let mut req = ada.request(Method::PATCH, path).json(&body);
    if let Some(etag) = etag {
        req = req.header("if-match", etag);
    }
    req.send().await.unwrap()
}

async fn readiness(ada: &Browser, framework: &Value) -> Value {
    json_of(
        ada.get(&format!(
            "/api/v1/orgs/acme/frameworks/{}/readiness",
            framework["id"].as_str().unwrap()
        ))
        .await,
        200,
    )
    .await
}

pub fn upload(metadata: Value, name: &str, bytes: Vec<u8>) -> reqwest::multipart::Form {
    reqwest::multipart::Form::new()
        .part(
            "metadata",
            reqwest::multipart::Part::text(metadata.to_string())
                .mime_str("application/json")
                .unwrap(),
        )
        .part(
            "file",
            reqwest::multipart::Part::bytes(bytes)
                .file_name(name.to_owned())
                // What the uploader claims is never believed.
                .mime_str("image/png")
                .unwrap(),
        )
}

#[tokio::test]
async fn an_oscal_catalog_becomes_a_framework_whose_enhancements_hang_under_their_controls() {
    let Acme { app: _app, ada, .. } = acme().await;
    let framework = json_of(import(&ada, "", "application/json", OSCAL).await, 201).await;
    assert_eq!(framework["name"], "Example Controls", "the catalog's own title");
    assert_eq!(framework["source"], "oscal");
    assert_eq!(framework["requirement_count"], 3);
    let items = requirements(&ada, &framework).await;
    let refs: Vec<&str> = items.iter().map(|r| r["ref"].as_str().unwrap()).collect();
    assert_eq!(refs, ["ac-1", "ac-1.1", "ac-2"], "groups are not requirements");
    assert_eq!(items[0]["parent_id"], Value::Null);
    assert_eq!(items[1]["parent_id"], items[0]["id"]);
    assert_eq!(items[0]["description"], "Write an access policy.");

    let named = json_of(import(&ada, "?name=Ours", "application/json", OSCAL).await, 201).await;
    assert_eq!(named["name"], "Ours");
    let listed = json_of(ada.get("/api/v1/orgs/acme/frameworks").await, 200).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 2);
    let one = json_of(
        ada.get(&format!(
            "/api/v1/orgs/acme/frameworks/{}",
            named["id"].as_str().unwrap()
        ))
        .await,
        200,
    )
    .await;
    assert_eq!(one, named);
}

#[tokio::test]
async fn a_csv_catalog_and_the_starter_catalog_import_with_their_tree() {
    let Acme { app: _app, ada, .. } = acme().await;
    let csv = "id,title,description,parent\nA,Access,,\nA.1,\"Reviews, quarterly\",Look at who has what,A\n";
    let framework = json_of(import(&ada, "?name=Mine", "text/csv", csv).await, 201).await;
    assert_eq!(framework["source"], "csv");
    let items = requirements(&ada, &framework).await;
    assert_eq!(items[1]["title"], "Reviews, quarterly");
    assert_eq!(items[1]["parent_id"], items[0]["id"]);
    let res = import(&ada, "", "text/csv", csv).await;
    let problem = assert_problem(res, 400, "validation_failed").await;
    assert_eq!(
        problem["errors"][0]["field"], "name",
        "a CSV has no title of its own"
    );

    let baseline = starter(&ada).await;
    assert_eq!(baseline["source"], "starter");
    assert_eq!(baseline["requirement_count"], 21);
    let items = requirements(&ada, &baseline).await;
    assert!(items.iter().any(|r| r["ref"] == "BSL-IAM-2"));
}

#[tokio::test]
async fn a_malformed_or_oversized_catalog_is_refused_saying_where_and_nothing_is_imported() {
    let Acme { app: _app, ada, .. } = acme_with(&[("ATTEST_MAX_IMPORT_BYTES", "4096")]).await;
    let res = import(&ada, "", "application/json", r#"{"catalog": {"metadata": "#).await;
    assert_problem(res, 400, "bad_request").await;

    let untitled = r#"{"catalog": {"metadata": {"title": "T"}, "groups": [{"controls": [{"id": "x-1", "title": "ok"}, {"id": "x-2"}]}]}}"#;
    let problem = assert_problem(
        import(&ada, "", "application/json", untitled).await,
        400,
        "validation_failed",
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "catalog.groups[0].controls[1]");
    assert!(problem["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("title"));

    let orphan = "id,title,description,parent\nA,Access,,Z\n";
    let problem = assert_problem(
        import(&ada, "?name=x", "text/csv", orphan).await,
        400,
        "validation_failed",
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "line 2.parent");
    let bad_header = "ref,name\nA,B\n";
    assert_problem(
        import(&ada, "?name=x", "text/csv", bad_header).await,
        400,
        "validation_failed",
    )
    .await;

    let huge = format!(
        "id,title,description,parent\n{}",
        (0..200)
            .map(|i| format!("R-{i},Requirement number {i},,\n"))
            .collect::<String>()
    );
    assert!(huge.len() > 4096);
    assert_problem(
        import(&ada, "?name=x", "text/csv", &huge).await,
        413,
        "payload_too_large",
    )
    .await;
    assert_problem(
        import(&ada, "?name=x", "text/plain", "id").await,
        415,
        "unsupported_media_type",
    )
    .await;

    let listed = json_of(ada.get("/api/v1/orgs/acme/frameworks").await, 200).await;
    assert_eq!(listed["items"], json!([]), "nothing half-imported");
}

#[tokio::test]
async fn controls_follow_their_rules_and_filters_and_updates_need_the_version_read() {
    let Acme {
        app,
        org,
        ada,
        ada_id,
    } = acme().await;
    let baseline = starter(&ada).await;
    let items = requirements(&ada, &baseline).await;
    let req = |i: usize| items[i]["id"].clone();

    let res = ada
        .send(
            Method::POST,
            "/api/v1/orgs/acme/controls",
            Some(json!({"title": "No cards", "status": "not_applicable"})),
        )
        .await;
    let problem = assert_problem(res, 400, "validation_failed").await;
    assert_eq!(problem["errors"][0]["field"], "justification");
    let stranger = app.create_user("stranger@example.com", PASSWORD).await;
    let res = ada
        .send(
            Method::POST,
            "/api/v1/orgs/acme/controls",
            Some(json!({"title": "Owned", "owner_id": stranger})),
        )
        .await;
    assert_eq!(
        assert_problem(res, 400, "validation_failed").await["errors"][0]["field"],
        "owner_id"
    );
    let res = ada
        .send(
            Method::POST,
            "/api/v1/orgs/acme/controls",
            Some(json!({"title": "Mapped", "requirement_ids": [Uuid::now_v7()]})),
        )
        .await;
    assert_eq!(
        assert_problem(res, 400, "validation_failed").await["errors"][0]["field"],
        "requirement_ids"
    );

    let bob = app
        .add_member(org, "bob@example.com", PASSWORD, &["contributor"])
        .await;
    let sso = create_control(
        &ada,
        json!({"title": "SSO everywhere", "status": "implemented", "owner_id": bob,
               "tags": ["soc2", " iam ", "soc2"], "requirement_ids": [req(5), req(6)], "review_every_days": 90}),
    )
    .await;
    assert_eq!(sso["tags"], json!(["iam", "soc2"]));
    assert_eq!(sso["version"], 1);
    assert_eq!(sso["health"], "red", "implemented, with no evidence yet");
    assert!(sso["next_review_at"].is_string(), "due a cadence from now");
    let backups = create_control(
        &ada,
        json!({"title": "Backups", "owner_id": ada_id, "tags": ["ops"]}),
    )
    .await;
    assert_eq!(backups["status"], "not_started");
    assert_eq!(backups["health"], "grey");

    let ids = |page: Value| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let sso_id = sso["id"].as_str().unwrap().to_owned();
    let backups_id = backups["id"].as_str().unwrap().to_owned();
    for (query, want) in [
        ("status=implemented".to_owned(), vec![sso_id.clone()]),
        ("status=not_started".to_owned(), vec![backups_id.clone()]),
        ("tag=iam".to_owned(), vec![sso_id.clone()]),
        (format!("owner_id={ada_id}"), vec![backups_id.clone()]),
        (
            format!("framework_id={}", baseline["id"].as_str().unwrap()),
            vec![sso_id.clone()],
        ),
        ("tag=iam&status=not_started".to_owned(), vec![]),
        ("".to_owned(), vec![sso_id.clone(), backups_id.clone()]),
    ] {
        let page = json_of(ada.get(&format!("/api/v1/orgs/acme/controls?{query}")).await, 200).await;
        assert_eq!(ids(page), want, "{query}");
    }
    let first = json_of(ada.get("/api/v1/orgs/acme/controls?limit=1").await, 200).await;
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = json_of(
        ada.get(&format!("/api/v1/orgs/acme/controls?limit=1&cursor={cursor}"))
            .await,
        200,
    )
    .await;
    assert_eq!(ids(second), [backups_id]);
    assert_problem(
        ada.get("/api/v1/orgs/acme/controls?status=done").await,
        400,
        "validation_failed",
    )
    .await;

    let path = format!("/api/v1/orgs/acme/controls/{sso_id}");
    let res = ada.get(&path).await;
    let etag = res.headers()["etag"].to_str().unwrap().to_owned();
    assert_eq!(etag, "\"1\"");
    let change =
        json!({"status": "not_applicable", "justification": "Covered by the parent company", "tags": []});
    assert_problem(
        patch(&ada, &path, None, change.clone()).await,
        428,
        "precondition_required",
    )
    .await;
    let updated = json_of(patch(&ada, &path, Some(&etag), change.clone()).await, 200).await;
    assert_eq!(updated["version"], 2);
    assert_eq!(updated["tags"], json!([]));
    assert_eq!(
        updated["requirement_ids"], sso["requirement_ids"],
        "untouched members stay"
    );
    assert_problem(
        patch(&ada, &path, Some(&etag), change).await,
        412,
        "precondition_failed",
    )
    .await;
    let cleared = json_of(
        patch(&ada, &path, Some("*"), json!({"owner_id": null})).await,
        200,
    )
    .await;
    assert_eq!(cleared["owner_id"], Value::Null);
    let res = patch(&ada, &path, Some("*"), json!({"justification": null})).await;
    assert_problem(res, 400, "validation_failed").await;

    let res = ada.send(Method::DELETE, &path, None).await;
    assert_eq!(res.status(), 204);
    assert_problem(ada.get(&path).await, 404, "not_found").await;
}

#[tokio::test]
async fn evidence_files_are_stored_by_hash_sniffed_and_served_only_as_attachments() {
    let Acme { app: _app, ada, .. } = acme_with(&[("ATTEST_MAX_UPLOAD_BYTES", "2048")]).await;
    let control = create_control(&ada, json!({"title": "Pentest", "status": "implemented"})).await;
    let pdf = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\n".to_vec();
    let res = ada
        .request(Method::POST, "/api/v1/orgs/acme/evidence")
        .multipart(upload(
            json!({"title": "Pentest report", "control_ids": [control["id"]]}),
            "../reports/pentest 2026.pdf",
            pdf.clone(),
        ))
        .send()
        .await
        .unwrap();
    let evidence = json_of(res, 201).await;
    assert_eq!(evidence["kind"], "file");
    assert_eq!(evidence["review_state"], "pending");
    let file = &evidence["file"];
    assert_eq!(file["name"], "pentest 2026.pdf", "no path survives");
    assert_eq!(file["size"], pdf.len());
    assert_eq!(
        file["content_type"], "application/pdf",
        "sniffed, not the claimed image/png"
    );
    let sha = attest_core::compliance::blobs::address(&pdf);
    assert_eq!(file["sha256"], sha.as_str());

    let download = ada
        .get(&format!(
            "/api/v1/orgs/acme/evidence/{}/file",
            evidence["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(download.status(), 200);
    let headers = download.headers().clone();
    assert!(headers["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment"));
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["content-type"], "application/pdf");
    assert_eq!(download.bytes().await.unwrap().to_vec(), pdf);

    let page = b"<html><script>alert(document.cookie)</script></html>".to_vec();
    let res = ada
        .request(Method::POST, "/api/v1/orgs/acme/evidence")
        .multipart(upload(json!({"title": "Sneaky"}), "page.html", page))
        .send()
        .await
        .unwrap();
    let sneaky = json_of(res, 201).await;
    let res = ada
        .get(&format!(
            "/api/v1/orgs/acme/evidence/{}/file",
            sneaky["id"].as_str().unwrap()
        ))
        .await;
    assert!(res.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment"));
    assert!(res.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("sandbox"));

    let res = ada
        .request(Method::POST, "/api/v1/orgs/acme/evidence")
        .multipart(upload(json!({"title": "Too big"}), "big.bin", vec![7; 4096]))
        .send()
        .await
        .unwrap();
    assert_problem(res, 413, "payload_too_large").await;
    let res = ada
        .send(
            Method::POST,
            "/api/v1/orgs/acme/evidence",
            Some(json!({"kind": "file", "title": "No bytes"})),
        )
        .await;
    assert_problem(res, 400, "validation_failed").await;
    let res = ada
        .send(
            Method::POST,
            "/api/v1/orgs/acme/evidence",
            Some(json!({"title": "Link", "url": "javascript:alert(1)"})),
        )
        .await;
    assert_eq!(
        assert_problem(res, 400, "validation_failed").await["errors"][0]["field"],
        "url"
    );
    let listed = json_of(ada.get("/api/v1/orgs/acme/evidence?kind=file").await, 200).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn readiness_counts_requirements_covered_by_implemented_controls_with_current_evidence() {
    let Acme { app: _app, ada, .. } = acme().await;
    let baseline = starter(&ada).await;
    let items = requirements(&ada, &baseline).await;
    assert_eq!(
        readiness(&ada, &baseline).await,
        json!({"framework_id": baseline["id"], "requirements": 21, "covered": 0, "percent": 0.0})
    );
    let control = create_control(
        &ada,
        json!({"title": "MFA", "status": "implemented", "requirement_ids": [items[5]["id"], items[6]["id"]]}),
    )
    .await;
    assert_eq!(readiness(&ada, &baseline).await["covered"], 0, "no evidence yet");

    let evidence = json_of(
        ada.send(
            Method::POST,
            "/api/v1/orgs/acme/evidence",
            Some(json!({"title": "IdP settings", "url": "https://idp.example.com/mfa", "control_ids": [control["id"]],
                         "valid_until": "2099-01-01T00:00:00Z"})),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(evidence["kind"], "url");
    let figures = readiness(&ada, &baseline).await;
    assert_eq!(
        (figures["covered"].clone(), figures["percent"].clone()),
        (json!(2), json!(9.5))
    );
    let path = format!("/api/v1/orgs/acme/controls/{}", control["id"].as_str().unwrap());
    assert_eq!(json_of(ada.get(&path).await, 200).await["health"], "green");

    let evidence_path = format!("/api/v1/orgs/acme/evidence/{}", evidence["id"].as_str().unwrap());
    let expired = json_of(
        patch(
            &ada,
            &evidence_path,
            Some("\"1\""),
            json!({"valid_until": "2020-01-01T00:00:00Z"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(expired["version"], 2);
    assert_eq!(
        readiness(&ada, &baseline).await["covered"],
        0,
        "expired evidence counts for nothing"
    );
    assert_eq!(json_of(ada.get(&path).await, 200).await["health"], "amber");

    create_control(
        &ada,
        json!({"title": "No vendors", "status": "not_applicable", "justification": "We use none",
               "requirement_ids": [items[20]["id"]]}),
    )
    .await;
    let figures = readiness(&ada, &baseline).await;
    assert_eq!(
        (figures["covered"].clone(), figures["percent"].clone()),
        (json!(1), json!(4.8))
    );

    let detail = json_of(
        ada.get(&format!(
            "/api/v1/orgs/acme/frameworks/{}/readiness?format=json",
            baseline["id"].as_str().unwrap()
        ))
        .await,
        200,
    )
    .await;
    assert_eq!(detail["items"].as_array().unwrap().len(), 21);
    assert_eq!(detail["items"][20]["covered"], true);
    let csv = ada
        .get(&format!(
            "/api/v1/orgs/acme/frameworks/{}/readiness?format=csv",
            baseline["id"].as_str().unwrap()
        ))
        .await;
    assert!(csv.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let text = csv.text().await.unwrap();
    assert_eq!(text.lines().count(), 22);
    assert!(text.starts_with("ref,title,covered,control_ids\n"));
    assert!(text.contains("BSL-RES-3,Vendor review,true,"));

    let res = ada
        .send(
            Method::DELETE,
            &format!(
                "/api/v1/orgs/acme/frameworks/{}",
                baseline["id"].as_str().unwrap()
            ),
            None,
        )
        .await;
    assert_eq!(res.status(), 204);
    assert_eq!(
        json_of(ada.get(&path).await, 200).await["requirement_ids"],
        json!([]),
        "the control stays, unmapped"
    );
}

#[tokio::test]
async fn a_policy_is_published_in_frozen_versions_and_acknowledged_by_members() {
    let Acme { app, org, ada, .. } = acme().await;
    let policy = json_of(
        ada.send(
            Method::POST,
            "/api/v1/orgs/acme/policies",
            Some(json!({"title": "Acceptable use", "body": "# Use\nBe kind."})),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(policy["status"], "draft");
    assert_eq!(policy["current_version"], Value::Null);
    let path = format!("/api/v1/orgs/acme/policies/{}", policy["id"].as_str().unwrap());
    let bob_id = app
        .add_member(org, "bob@example.com", PASSWORD, &["contributor"])
        .await;
    let bob = login(&app, "bob@example.com", PASSWORD).await;
    let ack = format!("{path}/acknowledgments");
    assert_problem(
        bob.send(Method::POST, &ack, Some(json!({}))).await,
        409,
        "conflict",
    )
    .await;
    assert_problem(
        bob.send(Method::POST, &format!("{path}/publish"), None).await,
        403,
        "forbidden",
    )
    .await;

    let v1 = json_of(
        ada.send(Method::POST, &format!("{path}/publish"), None).await,
        201,
    )
    .await;
    assert_eq!(v1["number"], 1);
    assert_eq!(v1["body"], "# Use\nBe kind.");
    assert_problem(
        ada.send(Method::POST, &format!("{path}/publish"), None).await,
        409,
        "conflict",
    )
    .await;
    let first = json_of(bob.send(Method::POST, &ack, Some(json!({}))).await, 201).await;
    assert_eq!(first["version"], 1);
    assert_eq!(first["user_id"], bob_id.to_string());
    let again = json_of(bob.send(Method::POST, &ack, Some(json!({}))).await, 201).await;
    assert_eq!(again, first, "acknowledging twice changes nothing");

    let current = json_of(ada.get(&path).await, 200).await;
    assert_eq!(current["status"], "published");
    assert_eq!(current["unpublished_changes"], false);
    let etag = format!("\"{}\"", current["version"]);
    let edited = json_of(
        patch(
            &ada,
            &path,
            Some(&etag),
            json!({"body": "# Use\nBe kind. Lock screens."}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(edited["unpublished_changes"], true);
    assert_eq!(
        edited["current_version"], 1,
        "the published version stays current until the next"
    );
    let v2 = json_of(
        ada.send(Method::POST, &format!("{path}/publish"), None).await,
        201,
    )
    .await;
    assert_eq!(v2["number"], 2);
    let versions = json_of(ada.get(&format!("{path}/versions")).await, 200).await;
    let bodies: Vec<&str> = versions["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["body"].as_str().unwrap())
        .collect();
    assert_eq!(
        bodies,
        ["# Use\nBe kind.", "# Use\nBe kind. Lock screens."],
        "v1 is kept as it was"
    );

    json_of(ada.send(Method::POST, &ack, Some(json!({}))).await, 201).await;
    let all = json_of(ada.get(&ack).await, 200).await;
    assert_eq!(all["items"].as_array().unwrap().len(), 2);
    let of_v2 = json_of(ada.get(&format!("{ack}?version=2")).await, 200).await;
    assert_eq!(
        of_v2["items"].as_array().unwrap().len(),
        1,
        "bob has yet to read version 2"
    );

    let key = json_of(
        ada.send(
            Method::POST,
            "/api/v1/orgs/acme/api-keys",
            Some(json!({"name": "bot", "permissions": ["policies:read"]})),
        )
        .await,
        201,
    )
    .await;
    let res = app
        .client
        .post(app.url(&ack))
        .bearer_auth(key["key"].as_str().unwrap())
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_problem(res, 403, "forbidden").await;
    assert_problem(
        patch(&ada, &path, None, json!({"title": "x"})).await,
        428,
        "precondition_required",
    )
    .await;
}

#[tokio::test]
async fn another_orgs_compliance_data_is_invisible_and_cannot_be_linked() {
    let Acme { app, ada, .. } = acme().await;
    let baseline = starter(&ada).await;
    let items = requirements(&ada, &baseline).await;
    let control = create_control(
        &ada,
        json!({"title": "Ours", "requirement_ids": [items[1]["id"]]}),
    )
    .await;
    let evidence = json_of(
        ada.send(
            Method::POST,
            "/api/v1/orgs/acme/evidence",
            Some(json!({"title": "Note", "note": "Checked", "control_ids": [control["id"]]})),
        )
        .await,
        201,
    )
    .await;
    let globex = create_org(&ada, "globex").await;
    app.add_member(globex, "gina@example.com", PASSWORD, &["owner"])
        .await;
    let gina = login(&app, "gina@example.com", PASSWORD).await;
    for path in [
        format!(
            "/api/v1/orgs/acme/frameworks/{}",
            baseline["id"].as_str().unwrap()
        ),
        format!(
            "/api/v1/orgs/globex/frameworks/{}",
            baseline["id"].as_str().unwrap()
        ),
        format!(
            "/api/v1/orgs/globex/frameworks/{}/readiness",
            baseline["id"].as_str().unwrap()
        ),
        format!("/api/v1/orgs/globex/controls/{}", control["id"].as_str().unwrap()),
        format!(
            "/api/v1/orgs/globex/evidence/{}",
            evidence["id"].as_str().unwrap()
        ),
    ] {
        assert_problem(gina.get(&path).await, 404, "not_found").await;
    }
    let res = gina
        .send(
            Method::POST,
            "/api/v1/orgs/globex/controls",
            Some(json!({"title": "Theirs", "requirement_ids": [items[1]["id"]]})),
        )
        .await;
    assert_problem(res, 400, "validation_failed").await;
    let res = gina
        .send(
            Method::POST,
            "/api/v1/orgs/globex/evidence",
            Some(json!({"title": "Theirs", "note": "x", "control_ids": [control["id"]]})),
        )
        .await;
    assert_problem(res, 400, "validation_failed").await;
    let listed = json_of(
        gina.get(&format!(
            "/api/v1/orgs/globex/controls?framework_id={}",
            baseline["id"].as_str().unwrap()
        ))
        .await,
        200,
    )
    .await;
    assert_eq!(listed["items"], json!([]));
}

async fn run_check(ada: &Browser, body: Value) -> Value {
    json_of(
        ada.send(Method::POST, "/api/v1/orgs/acme/evidence/checks", Some(body))
            .await,
        201,
    )
    .await
}

#[tokio::test]
async fn platform_checks_become_evidence_tied_to_the_audit_chain_head_they_ran_at() {
    let Acme {
        app,
        org,
        ada,
        ada_id,
    } = acme().await;
    let bob = app
        .add_member(org, "bob@example.com", PASSWORD, &["contributor"])
        .await;
    let control = create_control(&ada, json!({"title": "MFA for owners", "status": "implemented"})).await;

    let head = json_of(ada.get("/api/v1/orgs/acme/audit-events/verify").await, 200).await["head"].clone();
    let owners = run_check(
        &ada,
        json!({"check": "owners_have_mfa", "control_ids": [control["id"]]}),
    )
    .await;
    let check = &owners["check"];
    assert_eq!(check["passed"], false);
    assert_eq!(check["failing"], json!([ada_id]));
    assert_eq!(check["audit_head"], head, "the head the check ran at");
    assert_eq!(owners["kind"], "note");
    assert_eq!(
        owners["valid_until"], owners["collected_at"],
        "a failure is never current evidence"
    );
    let path = format!("/api/v1/orgs/acme/controls/{}", control["id"].as_str().unwrap());
    assert_eq!(json_of(ada.get(&path).await, 200).await["health"], "amber");

    crate::totp::enrol(&ada).await;
    let owners = run_check(
        &ada,
        json!({"check": "owners_have_mfa", "control_ids": [control["id"]]}),
    )
    .await;
    assert_eq!(owners["check"]["passed"], true);
    assert_eq!(json_of(ada.get(&path).await, 200).await["health"], "green");
    let everyone = run_check(&ada, json!({"check": "mfa_or_sso"})).await;
    assert_eq!(everyone["check"]["failing"], json!([bob]), "bob has neither");
    let sso = run_check(&ada, json!({"check": "sso_enforced"})).await;
    assert_eq!(sso["check"]["passed"], false);
    assert_eq!(sso["note"], "SSO is not enabled for the organization");
    let chain = run_check(&ada, json!({"check": "audit_chain_verifies"})).await;
    assert_eq!(chain["check"]["passed"], true);

    let key = json_of(
        ada.send(
            Method::POST,
            "/api/v1/orgs/acme/api-keys",
            Some(json!({"name": "old", "permissions": ["org:read"]})),
        )
        .await,
        201,
    )
    .await;
    let fresh = run_check(&ada, json!({"check": "api_key_age", "max_age_days": 30})).await;
    assert_eq!(fresh["check"]["passed"], true);
    {
        use attest_core::store::entities::api_keys;
        use sea_orm::{ActiveModelTrait as _, EntityTrait as _, Set};
        let id: Uuid = key["id"].as_str().unwrap().parse().unwrap();
        let mut old: api_keys::ActiveModel = api_keys::Entity::find_by_id(id)
            .one(&app.state.db)
            .await
            .unwrap()
            .unwrap()
            .into();
        old.created_at = Set((chrono::Utc::now() - chrono::Duration::days(45)).fixed_offset());
        old.update(&app.state.db).await.unwrap();
    }
    let stale = run_check(&ada, json!({"check": "api_key_age", "max_age_days": 30})).await;
    assert_eq!(stale["check"]["passed"], false);
    assert_eq!(stale["check"]["failing"], json!([key["id"]]));
    let res = ada
        .send(
            Method::POST,
            "/api/v1/orgs/acme/evidence/checks",
            Some(json!({"check": "api_key_age", "max_age_days": 0})),
        )
        .await;
    assert_problem(res, 400, "validation_failed").await;
    let res = ada
        .send(
            Method::POST,
            "/api/v1/orgs/acme/evidence/checks",
            Some(json!({"check": "everything_is_fine"})),
        )
        .await;
    assert_problem(res, 400, "validation_failed").await;
}
