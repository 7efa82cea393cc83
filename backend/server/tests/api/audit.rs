//! The audit trail: one event per audited change, written in the change's own
//! transaction, on one gapless chain per org that verifies; the database refuses
//! to change it, and a change made behind its back is found at its `seq`.

use attest_core::{
    audit::{verify::Verification, writer::event_of},
    store::entities::audit_events,
};
use attest_shared::audit::{AuditEvent, Outcome, GENESIS_HASH};
use reqwest::Method;
use sea_orm::{ColumnTrait as _, ConnectionTrait as _, EntityTrait as _, QueryFilter as _, QueryOrder as _};
use serde_json::json;
use uuid::Uuid;

use crate::{
    auth::{login, login_attempt, Browser, PASSWORD},
    helpers::{assert_problem, attest_command, base_env, TestApp},
    world::{acme, create_org},
};

/// The org's chain as stored, in `seq` order.
pub async fn events(app: &TestApp, org: Uuid) -> Vec<AuditEvent> {
    audit_events::Entity::find()
        .filter(audit_events::Column::OrgId.eq(org))
        .order_by_asc(audit_events::Column::Seq)
        .all(&app.state.db)
        .await
        .unwrap()
        .into_iter()
        .map(|row| event_of(row).unwrap())
        .collect()
}

fn actions(events: &[AuditEvent]) -> Vec<&str> {
    events.iter().map(|e| e.action.as_str()).collect()
}

async fn create_role(browser: &Browser, name: &str) -> reqwest::Response {
    browser
        .send(
            Method::POST,
            "/api/v1/orgs/acme/roles",
            Some(json!({"name": name, "permissions": ["org:read"]})),
        )
        .await
}

/// What `GET …/audit-events/verify` answers.
/// `count` role creations, all sent at once; their statuses as they finish.
fn create_roles_at_once(browser: &Browser, count: usize) -> tokio::task::JoinSet<reqwest::StatusCode> {
    let mut writes = tokio::task::JoinSet::new();
    for i in 0..count {
        let browser = browser.clone();
        writes.spawn(async move { create_role(&browser, &format!("role-{i}")).await.status() });
    }
    writes
}

async fn verify_route(browser: &Browser) -> serde_json::Value {
    browser
        .get("/api/v1/orgs/acme/audit-events/verify")
        .await
        .json()
        .await
        .unwrap()
}

/// `attest audit verify <args>` against the app's database: success, and its output.
fn verify_cli(app: &TestApp, args: &[&str]) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let out = attest_command(dir.path(), &base_env(&app.db.url, dir.path()))
        .args(["audit", "verify"])
        .args(args)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

async fn verify(app: &TestApp, org: Uuid) -> Verification {
    let key = attest_core::audit::checkpoint::CheckpointKey::derive(&app.state.key).public();
    attest_core::audit::verify::verify(&app.state.db, &key, org)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_change_appends_one_event_that_carries_its_request_id() {
    let w = acme().await;
    let res = create_role(&w.ada, "reviewer").await;
    assert_eq!(res.status(), 201);
    let request_id = res.headers()["x-request-id"].to_str().unwrap().to_owned();

    let chain = events(&w.app, w.org).await;
    assert_eq!(actions(&chain), ["org.created", "role.created"]);
    let created = &chain[1];
    assert_eq!(created.request_id.as_deref(), Some(request_id.as_str()));
    assert_eq!(created.actor.display, "ada@example.com");
    assert_eq!(created.target.kind, "role");
    assert_eq!(created.target.id.as_deref(), Some("reviewer"));
    assert_eq!(created.outcome, Outcome::Success);
    assert_eq!(created.metadata, json!({"permissions": ["org:read"]}));
    assert_eq!(chain[0].prev_hash, GENESIS_HASH);
    assert_eq!(created.prev_hash, chain[0].hash);
    assert_eq!(
        verify(&w.app, w.org).await,
        Verification::Intact {
            events: 2,
            head: Some((2, created.hash.clone()))
        }
    );
}

#[tokio::test]
async fn a_refused_or_failed_change_appends_nothing() {
    let w = acme().await;
    assert_eq!(create_role(&w.ada, "reviewer").await.status(), 201);
    let before = events(&w.app, w.org).await.len();

    assert_problem(create_role(&w.ada, "reviewer").await, 409, "conflict").await;
    assert_problem(create_role(&w.ada, "Bad Name").await, 400, "validation_failed").await;
    let stale = w
        .ada
        .request(Method::PUT, "/api/v1/orgs/acme/roles/reviewer")
        .header("if-match", "\"7\"")
        .json(&json!({"permissions": []}))
        .send()
        .await
        .unwrap();
    assert_problem(stale, 412, "precondition_failed").await;

    assert_eq!(events(&w.app, w.org).await.len(), before);
}

#[tokio::test]
async fn concurrent_audited_writes_form_one_gapless_chain() {
    let w = acme().await;
    let mut writes = create_roles_at_once(&w.ada, 200);
    while let Some(status) = writes.join_next().await {
        assert_eq!(status.unwrap(), 201);
    }
    let chain = events(&w.app, w.org).await;
    let seqs: Vec<i64> = chain.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=201).collect::<Vec<_>>());
    assert!(matches!(
        verify(&w.app, w.org).await,
        Verification::Intact { events: 201, .. }
    ));
}

/// Verification while appends keep committing sees some whole prefix of the
/// chain each time, never a chain that looks broken (its reader once began
/// before the head it is compared with was read).
#[tokio::test]
async fn a_chain_verifies_while_audited_writes_keep_committing() {
    let w = acme().await;
    let mut writes = create_roles_at_once(&w.ada, 300);
    let mut verdicts = Vec::new();
    while !writes.is_empty() {
        let verdict = verify_route(&w.ada).await;
        assert_eq!(
            verdict["ok"],
            true,
            "after {} intact verdicts: {verdict}",
            verdicts.len()
        );
        verdicts.push(verdict["events"].as_u64().unwrap());
        while let Some(done) = writes.try_join_next() {
            assert_eq!(done.unwrap(), 201);
        }
    }
    assert!(
        verdicts.first() < verdicts.last(),
        "verified while the chain grew: {verdicts:?}"
    );
}

#[tokio::test]
async fn the_database_refuses_to_change_or_delete_events() {
    let w = acme().await;
    let db = &w.app.state.db;
    let before = events(&w.app, w.org).await;
    assert!(db
        .execute_unprepared("UPDATE audit_events SET action = 'org.forged'")
        .await
        .is_err());
    assert!(db.execute_unprepared("DELETE FROM audit_events").await.is_err());
    assert_eq!(events(&w.app, w.org).await, before);
}

#[tokio::test]
async fn an_event_edited_behind_the_triggers_back_is_found_at_its_seq() {
    let w = acme().await;
    for name in ["a", "b", "c"] {
        assert_eq!(create_role(&w.ada, name).await.status(), 201);
    }
    let db = &w.app.state.db;
    // Someone with the database owner's rights: triggers off, one row rewritten.
    disable_triggers(&w.app).await;
    audit_events::Entity::update_many()
        .col_expr(
            audit_events::Column::Metadata,
            sea_orm::sea_query::Expr::value(r#"{"permissions":["org:delete"]}"#),
        )
        .filter(audit_events::Column::OrgId.eq(w.org))
        .filter(audit_events::Column::Seq.eq(3))
        .exec(db)
        .await
        .unwrap();
    assert_eq!(
        verify(&w.app, w.org).await,
        Verification::Broken { first_bad_seq: 3 }
    );
    let answer = verify_route(&w.ada).await;
    assert_eq!(answer, json!({"ok": false, "first_bad_seq": 3}));

    let (ok, out) = verify_cli(&w.app, &["--org", "acme"]);
    assert!(!ok);
    assert!(out.contains("acme: BROKEN, first bad seq 3"), "{out}");
}

#[tokio::test]
async fn the_verify_route_and_the_cli_report_an_intact_chain_and_its_head() {
    let w = acme().await;
    assert_eq!(create_role(&w.ada, "reviewer").await.status(), 201);
    let head = events(&w.app, w.org).await.pop().unwrap();
    let answer = verify_route(&w.ada).await;
    assert_eq!(
        answer,
        json!({"ok": true, "events": 2, "head": {"seq": 2, "hash": head.hash}})
    );
    let (ok, out) = verify_cli(&w.app, &[]);
    assert!(ok, "{out}");
    assert!(
        out.contains(&format!("acme: ok, 2 events, head 2 {}", head.hash)),
        "{out}"
    );
}

#[tokio::test]
async fn the_list_filters_and_pages_newest_first() {
    let w = acme().await;
    for name in ["a", "b", "c"] {
        assert_eq!(create_role(&w.ada, name).await.status(), 201);
    }
    let all = events(&w.app, w.org).await;
    let newest_first: Vec<i64> = all.iter().rev().map(|e| e.seq).collect();

    let mut seen = Vec::new();
    let mut path = "/api/v1/orgs/acme/audit-events?limit=2".to_owned();
    loop {
        let page: serde_json::Value = w.ada.get(&path).await.json().await.unwrap();
        seen.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["seq"].as_i64().unwrap()),
        );
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/v1/orgs/acme/audit-events?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, newest_first);

    let page: serde_json::Value = w
        .ada
        .get("/api/v1/orgs/acme/audit-events?action=role.created&target_id=b")
        .await
        .json()
        .await
        .unwrap();
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["target"], json!({"type": "role", "id": "b"}));
    assert_eq!(
        serde_json::from_value::<AuditEvent>(items[0].clone()).unwrap(),
        all[2]
    );

    let ada_id = all[0].actor.id.unwrap();
    let by_ada: serde_json::Value = w
        .ada
        .get(&format!("/api/v1/orgs/acme/audit-events?actor_id={ada_id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(by_ada["items"].as_array().unwrap().len(), all.len());
    let future = "2999-01-01T00:00:00Z";
    let later: serde_json::Value = w
        .ada
        .get(&format!("/api/v1/orgs/acme/audit-events?since={future}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(later["items"], json!([]));

    let bad = w.ada.get("/api/v1/orgs/acme/audit-events?cursor=nonsense").await;
    let body = assert_problem(bad, 400, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "cursor");
    // Append-only: nothing updates or deletes events over the API either.
    let res = w
        .ada
        .send(Method::DELETE, "/api/v1/orgs/acme/audit-events", None)
        .await;
    assert_problem(res, 405, "bad_request").await;
}

#[tokio::test]
async fn sign_ins_and_sign_outs_are_recorded_in_every_org_of_the_user() {
    let w = acme().await;
    let globex = create_org(&w.ada, "globex").await;
    let bob_id = w
        .app
        .add_member(w.org, "bob@example.com", PASSWORD, &["contributor"])
        .await;
    attest_core::tenancy::members::admit(&w.app.state.db, globex, bob_id, &["auditor".to_owned()])
        .await
        .unwrap();

    let wrong = login_attempt(&w.app, "bob@example.com", "not the password").await;
    assert_problem(wrong, 401, "invalid_credentials").await;
    let unknown = login_attempt(&w.app, "nobody@example.com", PASSWORD).await;
    assert_problem(unknown, 401, "invalid_credentials").await;
    let bob = login(&w.app, "bob@example.com", PASSWORD).await;
    assert_eq!(bob.send(Method::POST, "/auth/logout", None).await.status(), 204);

    for org in [w.org, globex] {
        let bobs: Vec<AuditEvent> = events(&w.app, org)
            .await
            .into_iter()
            .filter(|e| e.actor.id == Some(bob_id))
            .collect();
        assert_eq!(
            actions(&bobs),
            ["auth.signed_in", "auth.signed_in", "auth.signed_out"],
            "in org {org}"
        );
        assert_eq!(bobs[0].outcome, Outcome::Failure);
        assert_eq!(bobs[0].metadata, json!({"reason": "invalid_credentials"}));
        assert_eq!(bobs[1].outcome, Outcome::Success);
        assert!(matches!(verify(&w.app, org).await, Verification::Intact { .. }));
    }
}

#[tokio::test]
async fn a_refused_request_is_audited_as_denied_with_the_permission_it_lacked() {
    let w = acme().await;
    let bob_id = w
        .app
        .add_member(w.org, "bob@example.com", PASSWORD, &["admin"])
        .await;
    let bob = login(&w.app, "bob@example.com", PASSWORD).await;
    // Admins may manage roles but lack org:delete: this role would be an escalation.
    let res = bob
        .send(
            Method::POST,
            "/api/v1/orgs/acme/roles",
            Some(json!({"name": "nuke", "permissions": ["org:delete"]})),
        )
        .await;
    let request_id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    let problem = assert_problem(res, 403, "forbidden").await;
    assert_eq!(problem["permission"], "org:delete");
    assert_problem(
        bob.send(Method::DELETE, "/api/v1/orgs/acme", None).await,
        403,
        "forbidden",
    )
    .await;

    let denials: Vec<AuditEvent> = events(&w.app, w.org)
        .await
        .into_iter()
        .filter(|e| e.actor.id == Some(bob_id) && e.action != "auth.signed_in")
        .collect();
    assert_eq!(
        actions(&denials),
        ["access.denied", "access.denied"],
        "and nothing else"
    );
    assert_eq!(denials[0].outcome, Outcome::Denied);
    assert_eq!(denials[0].request_id.as_deref(), Some(request_id.as_str()));
    assert_eq!(
        denials[0].metadata,
        json!({"permission": "org:delete", "route": "POST /api/v1/orgs/{org}/roles"})
    );
    assert_eq!(
        denials[1].metadata,
        json!({"permission": "org:delete", "route": "DELETE /api/v1/orgs/{org}"})
    );
    assert!(matches!(verify(&w.app, w.org).await, Verification::Intact { .. }));
}

/// What `scripts/verify-audit-chain.py` (written from docs/audit.md, not from
/// the Rust code) says of `events` as JSON lines.
fn python_verdict(events: &[AuditEvent]) -> String {
    let lines: Vec<String> = events.iter().map(|e| serde_json::to_string(e).unwrap()).collect();
    python_verdict_on(&lines.join("\n"))
}

fn python_verdict_on(jsonl: &str) -> String {
    python_verdict_with(&[], jsonl)
}

fn python_verdict_with(args: &[&str], jsonl: &str) -> String {
    use std::io::Write as _;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/verify-audit-chain.py");
    let mut child = std::process::Command::new("python3")
        .arg(script)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python3");
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "{jsonl}").unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout).trim(),
        String::from_utf8_lossy(&out.stderr).trim()
    )
}

#[tokio::test]
async fn an_independent_implementation_recomputes_the_same_chain() {
    let w = acme().await;
    // Metadata with non-ASCII text and quotes, as JCS must escape them.
    let res = w
        .ada
        .request(Method::PATCH, "/api/v1/orgs/acme")
        .header("if-match", "*")
        .json(&json!({"name": "Acmé \"Ünïcode\" ✓"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(create_role(&w.ada, "reviewer").await.status(), 201);
    let chain = events(&w.app, w.org).await;
    let head = chain.last().unwrap();
    assert_eq!(
        python_verdict(&chain),
        format!("ok {} {}", chain.len(), head.hash)
    );

    let mut forged = chain.clone();
    forged[1].metadata = json!({"after": {"name": "Someone else"}});
    assert_eq!(python_verdict(&forged), "broken at seq 2");
}

#[tokio::test]
async fn the_exports_stream_the_chain_and_the_jsonl_export_verifies_without_attest() {
    let w = acme().await;
    for name in ["a", "b"] {
        assert_eq!(create_role(&w.ada, name).await.status(), 201);
    }
    // A user agent a spreadsheet would take for a formula.
    let res = w
        .ada
        .request(Method::POST, "/api/v1/orgs/acme/roles")
        .header("user-agent", "=HYPERLINK(\"http://evil.example\")")
        .json(&json!({"name": "c", "permissions": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let before = events(&w.app, w.org).await;

    let res = w
        .ada
        .get("/api/v1/orgs/acme/audit-events/export?format=jsonl")
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/x-ndjson");
    let disposition = res.headers()["content-disposition"].to_str().unwrap().to_owned();
    assert!(
        disposition.starts_with("attachment; filename=\"acme-audit-"),
        "{disposition}"
    );
    let jsonl = res.text().await.unwrap();
    assert_eq!(jsonl.lines().count(), before.len());
    let head = before.last().unwrap();
    assert_eq!(
        python_verdict_on(jsonl.trim_end()),
        format!("ok {} {}", before.len(), head.hash)
    );

    // The export is audited, after the events it holds.
    let after = events(&w.app, w.org).await;
    let exported = after.last().unwrap();
    assert_eq!(exported.action, "audit.exported");
    assert_eq!(
        exported.metadata,
        json!({"format": "jsonl", "events": before.len(), "up_to_seq": head.seq})
    );

    let csv = w
        .ada
        .get("/api/v1/orgs/acme/audit-events/export?format=csv")
        .await;
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = csv.text().await.unwrap();
    let mut lines = csv.lines();
    assert!(lines.next().unwrap().starts_with("id,seq,occurred_at,actor_type"));
    assert_eq!(lines.count(), after.len(), "every event up to the export's start");
    assert!(csv.contains("'=HYPERLINK"), "formula cells are defused");
    assert!(!csv.contains(",=HYPERLINK") && !csv.contains(",\"=HYPERLINK"));

    let bad = w
        .ada
        .get("/api/v1/orgs/acme/audit-events/export?format=xml")
        .await;
    assert_problem(bad, 400, "validation_failed").await;
}

/// Turns the append-only triggers off, as only the database owner could.
async fn disable_triggers(app: &TestApp) {
    let statements: &[&str] = if app.db.is_postgres() {
        &["ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only"]
    } else {
        &[
            "DROP TRIGGER audit_events_no_update",
            "DROP TRIGGER audit_events_no_delete",
        ]
    };
    for statement in statements {
        app.state.db.execute_unprepared(statement).await.unwrap();
    }
}

#[tokio::test]
async fn an_export_leaves_a_checkpoint_signed_with_the_published_key() {
    use attest_core::store::entities::audit_checkpoints;
    use ed25519_dalek::{Signature, Verifier as _, VerifyingKey};

    let w = acme().await;
    assert_eq!(create_role(&w.ada, "reviewer").await.status(), 201);
    let export = w.ada.get("/api/v1/orgs/acme/audit-events/export").await;
    assert_eq!(export.status(), 200);
    let head = events(&w.app, w.org).await.pop().unwrap();
    let checkpoint = audit_checkpoints::Entity::find_by_id((w.org, head.seq))
        .one(&w.app.state.db)
        .await
        .unwrap()
        .expect("the export signed the head");
    assert_eq!(checkpoint.hash, head.hash);

    // Anyone can check it with the published key and the documented statement.
    let published: serde_json::Value = w
        .app
        .get("/api/v1/audit/checkpoint-key")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(published["algorithm"], "Ed25519");
    let key_bytes: [u8; 32] = hex::decode(published["public_key"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    let key = VerifyingKey::from_bytes(&key_bytes).unwrap();
    let statement = json!({
        "org_id": w.org,
        "seq": checkpoint.seq,
        "hash": checkpoint.hash,
        "signed_at": attest_shared::audit::micros::format(&checkpoint.signed_at.to_utc()),
    });
    let signature = Signature::from_slice(&hex::decode(&checkpoint.signature).unwrap()).unwrap();
    assert!(key.verify(statement.to_string().as_bytes(), &signature).is_ok());
    assert!(matches!(verify(&w.app, w.org).await, Verification::Intact { .. }));
}

#[tokio::test]
async fn cutting_off_the_tail_behind_a_checkpoint_is_detected() {
    let w = acme().await;
    for name in ["a", "b"] {
        assert_eq!(create_role(&w.ada, name).await.status(), 201);
    }
    // The export's checkpoint covers seq 1..=4 (its own event is 4).
    assert_eq!(
        w.ada.get("/api/v1/orgs/acme/audit-events/export").await.status(),
        200
    );
    assert_eq!(events(&w.app, w.org).await.len(), 4);

    disable_triggers(&w.app).await;
    audit_events::Entity::delete_many()
        .filter(audit_events::Column::OrgId.eq(w.org))
        .filter(audit_events::Column::Seq.gte(3))
        .exec(&w.app.state.db)
        .await
        .unwrap();
    // What is left is a perfectly linked chain of two events; only the checkpoint knows better.
    assert_eq!(
        python_verdict(&events(&w.app, w.org).await).split(' ').next(),
        Some("ok")
    );
    assert_eq!(
        verify(&w.app, w.org).await,
        Verification::Broken { first_bad_seq: 3 }
    );
    let (ok, out) = verify_cli(&w.app, &[]);
    assert!(!ok && out.contains("acme: BROKEN, first bad seq 3"), "{out}");
}

/// `PUT …/audit-retention` as `browser`.
async fn set_retention(browser: &Browser, days: serde_json::Value) -> reqwest::Response {
    browser
        .send(
            Method::PUT,
            "/api/v1/orgs/acme/audit-retention",
            Some(json!({ "days": days })),
        )
        .await
}

/// The Python verifier's verdict on the org's JSONL export, checked against its
/// signed checkpoints and the published key.
async fn python_verdict_with_checkpoints(browser: &Browser, app: &TestApp) -> String {
    let dir = tempfile::tempdir().unwrap();
    let checkpoints = browser
        .get("/api/v1/orgs/acme/audit-events/checkpoints")
        .await
        .text()
        .await
        .unwrap();
    let path = dir.path().join("checkpoints.json");
    std::fs::write(&path, checkpoints).unwrap();
    let published: serde_json::Value = app
        .get("/api/v1/audit/checkpoint-key")
        .await
        .json()
        .await
        .unwrap();
    let jsonl = browser
        .get("/api/v1/orgs/acme/audit-events/export")
        .await
        .text()
        .await
        .unwrap();
    let key = published["public_key"].as_str().unwrap();
    python_verdict_with(
        &["--checkpoints", path.to_str().unwrap(), "--public-key", key],
        jsonl.trim_end(),
    )
}

#[tokio::test]
async fn retention_is_set_within_bounds_and_the_change_is_audited() {
    let w = acme().await;
    let current: serde_json::Value = w
        .ada
        .get("/api/v1/orgs/acme/audit-retention")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        current,
        json!({"days": null, "minimum_days": 90, "maximum_days": 36500})
    );
    for bad in [json!(30), json!(0), json!(-1), json!(40000), json!("365")] {
        let res = set_retention(&w.ada, bad.clone()).await;
        assert_eq!(res.status(), 400, "{bad}");
    }
    let missing = w
        .ada
        .send(Method::PUT, "/api/v1/orgs/acme/audit-retention", Some(json!({})))
        .await;
    assert_problem(missing, 400, "validation_failed").await;
    assert!(
        !actions(&events(&w.app, w.org).await).contains(&"audit.retention_changed"),
        "refused changes leave no event"
    );

    let res = set_retention(&w.ada, json!(365)).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<serde_json::Value>().await.unwrap()["days"], 365);
    let res = set_retention(&w.ada, json!(null)).await;
    assert_eq!(
        res.json::<serde_json::Value>().await.unwrap()["days"],
        json!(null)
    );
    let changes: Vec<_> = events(&w.app, w.org)
        .await
        .into_iter()
        .filter(|e| e.action == "audit.retention_changed")
        .map(|e| e.metadata)
        .collect();
    assert_eq!(
        changes,
        [
            json!({"before": {"retention_days": null}, "after": {"retention_days": 365}}),
            json!({"before": {"retention_days": 365}, "after": {"retention_days": null}}),
        ]
    );
}

#[tokio::test]
async fn retention_deletes_old_events_from_the_start_and_the_rest_still_verifies() {
    use attest_core::audit::retention;

    let w = acme().await;
    assert_eq!(set_retention(&w.ada, json!(365)).await.status(), 200);
    assert_eq!(create_role(&w.ada, "old").await.status(), 201);
    let old = events(&w.app, w.org).await;
    let boundary = chrono::Utc::now();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    assert_eq!(create_role(&w.ada, "recent").await.status(), 201);

    // Nothing is a year old yet.
    assert!(retention::apply(&w.app.state, chrono::Utc::now())
        .await
        .unwrap()
        .is_empty());

    // A year after the boundary, the events before it are due.
    let a_year_on = boundary + chrono::Duration::days(365);
    let applied = retention::apply(&w.app.state, a_year_on).await.unwrap();
    let last_old = old.last().unwrap();
    assert_eq!(
        applied,
        [retention::Applied {
            org_id: w.org,
            events: old.len() as u64,
            up_to_seq: last_old.seq,
        }]
    );
    let left = events(&w.app, w.org).await;
    assert_eq!(
        left.first().unwrap().seq,
        last_old.seq + 1,
        "deleted from the start only"
    );
    assert_eq!(left.first().unwrap().prev_hash, last_old.hash);
    let record = left.last().unwrap();
    assert_eq!(record.action, "audit.retention_applied");
    assert_eq!(record.actor.kind.as_str(), "system");
    assert_eq!(
        record.metadata,
        json!({"events": old.len(), "up_to_seq": last_old.seq})
    );
    // Running again removes nothing more.
    assert!(retention::apply(&w.app.state, a_year_on)
        .await
        .unwrap()
        .is_empty());

    // What remains verifies: in Attest, and independently from the export and checkpoints.
    let report = verify_route(&w.ada).await;
    assert_eq!(report["ok"], true, "{report}");
    let (ok, out) = verify_cli(&w.app, &["--org", "acme"]);
    assert!(ok, "{out}");
    let verdict = python_verdict_with_checkpoints(&w.ada, &w.app).await;
    assert!(verdict.starts_with("ok "), "{verdict}");
    // Without its checkpoint, a shortened chain proves nothing.
    let export = w
        .ada
        .get("/api/v1/orgs/acme/audit-events/export")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(
        python_verdict_on(export.trim_end()),
        format!("broken at seq {}", last_old.seq + 1)
    );
}

#[tokio::test]
async fn deleting_the_start_of_a_chain_or_forging_a_checkpoint_is_detected() {
    use attest_core::{audit::checkpoint, store::entities::audit_checkpoints};
    use sea_orm::{ActiveModelTrait as _, Set};

    let w = acme().await;
    for name in ["a", "b", "c"] {
        assert_eq!(create_role(&w.ada, name).await.status(), 201);
    }
    checkpoint::sign_all(&w.app.state).await.unwrap();
    disable_triggers(&w.app).await;

    // Deleting the first events, as if retention had, but with no signed anchor.
    audit_events::Entity::delete_many()
        .filter(audit_events::Column::OrgId.eq(w.org))
        .filter(audit_events::Column::Seq.lte(2))
        .exec(&w.app.state.db)
        .await
        .unwrap();
    assert_eq!(
        verify(&w.app, w.org).await,
        Verification::Broken { first_bad_seq: 3 }
    );

    // Forging that anchor without the key does not help.
    audit_checkpoints::ActiveModel {
        org_id: Set(w.org),
        seq: Set(2),
        hash: Set(events(&w.app, w.org).await[0].prev_hash.clone()),
        signed_at: Set(chrono::Utc::now().fixed_offset()),
        signature: Set("00".repeat(64)),
    }
    .insert(&w.app.state.db)
    .await
    .unwrap();
    assert_eq!(
        verify(&w.app, w.org).await,
        Verification::Broken { first_bad_seq: 2 }
    );
    let verdict = python_verdict_with_checkpoints(&w.ada, &w.app).await;
    assert_eq!(verdict, "broken at seq 2 (forged checkpoint)");
}

#[tokio::test]
async fn rewriting_the_whole_chain_consistently_contradicts_its_signed_checkpoint() {
    use attest_core::audit::checkpoint;
    use sea_orm::sea_query::Expr;

    let w = acme().await;
    for name in ["a", "b"] {
        assert_eq!(create_role(&w.ada, name).await.status(), 201);
    }
    checkpoint::sign_all(&w.app.state).await.unwrap();
    let signed_seq = events(&w.app, w.org).await.last().unwrap().seq;
    disable_triggers(&w.app).await;

    // Every event changed and every hash recomputed: a perfectly linked chain.
    let mut prev = GENESIS_HASH.to_owned();
    for mut event in events(&w.app, w.org).await {
        event.prev_hash = prev.clone();
        event.actor.display = "someone-else@example.com".into();
        event.hash = attest_core::audit::chain::hash(&event).unwrap();
        audit_events::Entity::update_many()
            .col_expr(
                audit_events::Column::ActorDisplay,
                Expr::value(event.actor.display.clone()),
            )
            .col_expr(
                audit_events::Column::PrevHash,
                Expr::value(event.prev_hash.clone()),
            )
            .col_expr(audit_events::Column::Hash, Expr::value(event.hash.clone()))
            .filter(audit_events::Column::Id.eq(event.id))
            .exec(&w.app.state.db)
            .await
            .unwrap();
        prev = event.hash;
    }
    assert!(python_verdict(&events(&w.app, w.org).await).starts_with("ok "));
    assert_eq!(
        verify(&w.app, w.org).await,
        Verification::Broken {
            first_bad_seq: signed_seq
        }
    );
    assert_eq!(
        python_verdict_with_checkpoints(&w.ada, &w.app).await,
        format!("broken at seq {signed_seq}")
    );
}

#[tokio::test]
async fn killing_the_server_during_concurrent_writes_loses_no_acknowledged_event() {
    use crate::shutdown::{signal, start_server, wait_until_ready};
    use std::sync::{Arc, Mutex};

    let w = acme().await;
    let dir = tempfile::tempdir().unwrap();
    let port = crate::helpers::free_port();
    let mut child = start_server(&w.app.db, dir.path(), port);
    tokio::task::spawn_blocking(move || wait_until_ready(port))
        .await
        .unwrap();
    let ada = w.ada.at(&format!("http://127.0.0.1:{port}"));

    // Eight writers create roles as fast as the server lets them, each noting
    // the ones the server acknowledged, until the server is gone.
    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    let writers: Vec<_> = (0..8)
        .map(|writer| {
            let (ada, acknowledged) = (ada.clone(), acknowledged.clone());
            tokio::spawn(async move {
                for n in 0.. {
                    let name = format!("w{writer}-{n}");
                    let sent = ada
                        .request(Method::POST, "/api/v1/orgs/acme/roles")
                        .json(&json!({"name": name, "permissions": ["org:read"]}))
                        .send()
                        .await;
                    match sent {
                        Ok(res) if res.status() == 201 => acknowledged.lock().unwrap().push(name),
                        Ok(res) => panic!("unexpected {}", res.status()),
                        Err(_) => return,
                    }
                }
            })
        })
        .collect();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while acknowledged.lock().unwrap().len() < 40 {
        assert!(
            std::time::Instant::now() < deadline,
            "the writers made no progress"
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    signal(&child, "KILL");
    let status = child.wait().unwrap();
    assert!(!status.success(), "killed, not stopped: {status:?}");
    for writer in writers {
        writer.await.unwrap();
    }

    let chain = events(&w.app, w.org).await;
    let audited: std::collections::HashSet<&str> = chain
        .iter()
        .filter(|e| e.action == "role.created")
        .filter_map(|e| e.target.id.as_deref())
        .collect();
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(acknowledged.len() >= 40);
    for name in &acknowledged {
        assert!(
            audited.contains(name.as_str()),
            "acknowledged {name} has its event"
        );
    }
    // Nothing half-written either: the chain is whole and gapless.
    assert!(matches!(verify(&w.app, w.org).await, Verification::Intact { .. }));
}
