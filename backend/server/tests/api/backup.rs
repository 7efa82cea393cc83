//! `attest backup` and `attest restore` (CONTRACT.md): a snapshot taken while
//! the server writes restores onto SQLite and onto PostgreSQL, whichever it
//! came from, to the same rows and evidence files with every chain verifying;
//! a corrupt, altered, foreign-keyed or newer snapshot is refused, and the
//! database it was meant for keeps what it had.

use std::{
    collections::BTreeMap,
    io::{Read as _, Write as _},
    path::{Path, PathBuf},
};

use reqwest::Method;
use serde_json::{json, Value};

use crate::{
    api_keys::key_of,
    auth::{login, Browser, PASSWORD},
    compliance::{create_control, json_of, requirements, starter, upload},
    helpers::{attest_command, base_env, run_with_stdin, spawn_app_on, TestDatabase},
    world::{acme, acme_on, create_org, Acme},
};

/// `attest <args>` on the database at `url`, with `dir` as its data folder
/// (evidence files, the development key) and the test secret key unless
/// `env` says otherwise; answers whether it succeeded, and what it printed.
async fn attest(url: &str, dir: &Path, env: &[(&str, &str)], args: &[&str]) -> (bool, String) {
    let mut settings = base_env(url, dir);
    for (key, value) in env {
        settings.insert((*key).to_owned(), (*value).to_owned());
    }
    let mut command = attest_command(dir, &settings);
    command.args(args);
    // Off the runtime's thread: the server under test keeps answering meanwhile.
    let out = tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .unwrap();
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), printed)
}

/// `attest backup` of the installation at (`url`, `data`) into `folder`; the
/// snapshot's path, and what the command printed.
async fn back_up(url: &str, data: &Path, folder: &Path) -> (PathBuf, String) {
    let snapshot = folder.join("attest.zip");
    let (ok, printed) = attest(url, data, &[], &["backup", "--out", snapshot.to_str().unwrap()]).await;
    assert!(ok, "{printed}");
    (snapshot, printed)
}

/// A framework with a control mapped to it, a file as evidence, a published
/// policy, an API key, and a second org; returns the file's bytes.
pub async fn some_of_everything(ada: &Browser) -> Vec<u8> {
    let framework = starter(ada).await;
    let requirement = requirements(ada, &framework).await[3]["id"].clone();
    let control = create_control(
        ada,
        json!({"title": "MFA everywhere", "status": "implemented", "requirement_ids": [requirement]}),
    )
    .await;
    let file = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\nscan results\n".to_vec();
    let res = ada
        .request(Method::POST, "/api/v1/orgs/acme/evidence")
        .multipart(upload(
            json!({"title": "Scan", "control_ids": [control["id"]]}),
            "scan.pdf",
            file.clone(),
        ))
        .send()
        .await
        .unwrap();
    json_of(res, 201).await;
    let policy = json_of(
        ada.send(
            Method::POST,
            "/api/v1/orgs/acme/policies",
            Some(json!({"title": "Access", "body": "# Access\nOnly with MFA."})),
        )
        .await,
        201,
    )
    .await;
    let publish = format!(
        "/api/v1/orgs/acme/policies/{}/publish",
        policy["id"].as_str().unwrap()
    );
    json_of(ada.send(Method::POST, &publish, None).await, 201).await;
    key_of(ada, &["org:read"]).await;
    create_org(ada, "globex").await;
    file
}

/// The manifest of the snapshot at `path`.
fn manifest(path: &Path) -> Value {
    let mut archive = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    serde_json::from_reader(archive.by_name("manifest.json").unwrap()).unwrap()
}

/// Each entry's checksum (tables and evidence files) by path.
fn checksums(manifest: &Value) -> BTreeMap<String, String> {
    manifest["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["path"].as_str().unwrap().to_owned(),
                e["sha256"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_snapshot_of_sqlite_taken_while_the_server_writes_restores_identically_onto_either_database() {
    round_trip(TestDatabase::create_sqlite()).await;
}

#[tokio::test]
async fn a_snapshot_of_postgres_taken_while_the_server_writes_restores_identically_onto_either_database() {
    if let Some(source) = TestDatabase::create_postgres().await {
        round_trip(source).await;
    }
}

/// Backs up `source` under writes, restores onto a new SQLite database and (when
/// PostgreSQL is there) a new PostgreSQL one, and finds the same contents.
async fn round_trip(source: TestDatabase) {
    let Acme { app, ada, .. } = acme_on(source).await;
    let file = some_of_everything(&ada).await;
    // Writes keep coming while the snapshot is taken: each is a role and its audit event.
    let writer = {
        let ada = ada.clone();
        tokio::spawn(async move {
            for n in 0.. {
                let body = json!({"name": format!("role-{n}"), "permissions": ["org:read"]});
                let res = ada
                    .send(Method::POST, "/api/v1/orgs/acme/roles", Some(body))
                    .await;
                assert_eq!(res.status(), 201);
            }
        })
    };
    let out = tempfile::tempdir().unwrap();
    let (snapshot, printed) = back_up(&app.db.url, app.dir.path(), out.path()).await;
    writer.abort();
    assert!(printed.contains("2 organization(s)"), "{printed}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&snapshot).unwrap().permissions().mode();
        assert_eq!(
            mode & 0o077,
            0,
            "a snapshot holds password hashes: its owner's only"
        );
    }
    let taken = manifest(&snapshot);
    assert!(
        taken["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["path"].as_str().unwrap().starts_with("blobs/")),
        "the evidence file is in the snapshot"
    );

    let mut targets = vec![TestDatabase::create_sqlite()];
    targets.extend(TestDatabase::create_postgres().await);
    for target in &targets {
        let dir = tempfile::tempdir().unwrap();
        let (ok, printed) = attest(
            &target.url,
            dir.path(),
            &[],
            &["restore", "--from", snapshot.to_str().unwrap()],
        )
        .await;
        assert!(ok, "restore onto {}: {printed}", target.url);
        let (ok, printed) = attest(&target.url, dir.path(), &[], &["audit", "verify"]).await;
        assert!(ok, "{printed}");
        assert!(
            printed.contains("acme: ok") && printed.contains("globex: ok"),
            "{printed}"
        );
        // Taken again from the restored database, every table and file is the same, byte for byte.
        let (again, _) = back_up(&target.url, dir.path(), dir.path()).await;
        assert_eq!(
            checksums(&manifest(&again)),
            checksums(&taken),
            "onto {}",
            target.url
        );
        assert_eq!(manifest(&again)["chains"], taken["chains"]);
        let blob = std::fs::read_dir(dir.path().join("blobs"))
            .unwrap()
            .flat_map(|org| std::fs::read_dir(org.unwrap().path()).unwrap())
            .flat_map(|prefix| std::fs::read_dir(prefix.unwrap().path()).unwrap())
            .map(|f| std::fs::read(f.unwrap().path()).unwrap())
            .next();
        assert_eq!(
            blob,
            Some(file.clone()),
            "the evidence file is back in the blob store"
        );
    }
}

/// Rewrites the snapshot at `from` into `to`, changing entry `path` with
/// `edit` and, when `fix_manifest`, its checksum too (as someone who knows
/// the format would).
fn altered(from: &Path, to: &Path, path: &str, edit: impl Fn(&str) -> String, fix_manifest: bool) {
    let mut archive = zip::ZipArchive::new(std::fs::File::open(from).unwrap()).unwrap();
    let mut entries = Vec::new();
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).unwrap();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).unwrap();
        entries.push((entry.name().to_owned(), bytes));
    }
    let edited = edit(std::str::from_utf8(&entries.iter().find(|(n, _)| n == path).unwrap().1).unwrap());
    let mut manifest: Value =
        serde_json::from_slice(&entries.iter().find(|(n, _)| n == "manifest.json").unwrap().1).unwrap();
    if fix_manifest {
        for entry in manifest["entries"].as_array_mut().unwrap() {
            if entry["path"] == path {
                entry["sha256"] = json!(attest_core::crypto::sha256_hex(edited.as_bytes()));
                entry["bytes"] = json!(edited.len());
            }
        }
    }
    let mut zip = zip::ZipWriter::new(std::fs::File::create(to).unwrap());
    for (name, bytes) in entries {
        zip.start_file(name.as_str(), zip::write::SimpleFileOptions::default())
            .unwrap();
        let bytes = match name.as_str() {
            n if n == path => edited.clone().into_bytes(),
            "manifest.json" => serde_json::to_vec(&manifest).unwrap(),
            _ => bytes,
        };
        zip.write_all(&bytes).unwrap();
    }
    zip.finish().unwrap();
}

#[tokio::test]
async fn a_corrupt_altered_foreign_or_newer_snapshot_is_refused_and_the_database_keeps_its_data() {
    let Acme { app, ada, .. } = acme().await;
    some_of_everything(&ada).await;
    let out = tempfile::tempdir().unwrap();
    let (snapshot, _) = back_up(&app.db.url, app.dir.path(), out.path()).await;

    // The database a bad snapshot is offered to: it has an org of its own.
    let target = TestDatabase::create().await;
    let dir = tempfile::tempdir().unwrap();
    {
        let other = spawn_app_on(target.share(), &[]).await;
        other.create_operator("olga@example.com", PASSWORD).await;
        let olga = login(&other, "olga@example.com", PASSWORD).await;
        create_org(&olga, "initech").await;
    }

    let variant = |name: &str| -> PathBuf { out.path().join(name) };
    let some_event = |events: &str| events.lines().nth(2).unwrap().to_owned();
    // A byte changed, the manifest left alone.
    altered(
        &snapshot,
        &variant("flipped.zip"),
        "tables/users.jsonl",
        |rows| rows.replacen("ada@example.com", "eve@example.com", 1),
        false,
    );
    // An audit event rewritten and the checksum recomputed: only the chain can tell.
    altered(
        &snapshot,
        &variant("rewritten.zip"),
        "tables/audit_events.jsonl",
        |events| {
            let event = some_event(events);
            events.replacen(&event, &event.replacen("\"success\"", "\"failure\"", 1), 1)
        },
        true,
    );
    // An event dropped from the middle of a chain, checksum recomputed.
    altered(
        &snapshot,
        &variant("dropped.zip"),
        "tables/audit_events.jsonl",
        |events| events.replacen(&format!("{}\n", some_event(events)), "", 1),
        true,
    );
    // A schema this build does not know.
    altered(
        &snapshot,
        &variant("newer.zip"),
        "manifest.json",
        |m| {
            let mut manifest: Value = serde_json::from_str(m).unwrap();
            manifest["schema"] = json!("m29991231_000099_future");
            manifest.to_string()
        },
        false,
    );
    let cases = [
        ("flipped.zip", &[][..], "does not match its checksum"),
        ("rewritten.zip", &[][..], "does not verify"),
        ("dropped.zip", &[][..], "does not verify"),
        ("newer.zip", &[][..], "does not know"),
        (
            "attest.zip",
            &[(
                "ATTEST_SECRET_KEY",
                "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100",
            )][..],
            "different secret key",
        ),
    ];
    for (name, env, reason) in cases {
        let (ok, printed) = attest(
            &target.url,
            dir.path(),
            env,
            &["restore", "--from", variant(name).to_str().unwrap()],
        )
        .await;
        assert!(!ok, "{name} was restored: {printed}");
        assert!(printed.contains(reason), "{name}: {printed}");
        // Nothing of it landed: the database still holds its own org, and only it.
        let (ok, chains) = attest(&target.url, dir.path(), &[], &["audit", "verify"]).await;
        assert!(ok, "{chains}");
        assert!(
            chains.contains("initech: ok") && !chains.contains("acme"),
            "{name}: {chains}"
        );
    }
    // The genuine snapshot replaces it all.
    let (ok, printed) = attest(
        &target.url,
        dir.path(),
        &[],
        &["restore", "--from", snapshot.to_str().unwrap()],
    )
    .await;
    assert!(ok, "{printed}");
    let (_, chains) = attest(&target.url, dir.path(), &[], &["audit", "verify"]).await;
    assert!(
        chains.contains("acme: ok") && !chains.contains("initech"),
        "{chains}"
    );
}

#[tokio::test]
async fn a_development_installation_restores_elsewhere_under_the_key_it_generated() {
    // No ATTEST_SECRET_KEY: each folder generates its own key into data/.
    let run = |dir: &Path, args: &[&str]| {
        let mut command = attest_command(dir, &BTreeMap::new());
        command.args(args);
        let (ok, printed) = run_with_stdin(command, "correct horse battery staple 9\n");
        assert!(ok, "attest {args:?}: {printed}");
        printed
    };
    let (first, second) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    run(
        first.path(),
        &[
            "admin",
            "create",
            "--email",
            "ada@example.com",
            "--password-stdin",
        ],
    );
    let snapshot = first.path().join("attest.zip");
    let printed = run(first.path(), &["backup", "--out", snapshot.to_str().unwrap()]);
    assert!(
        printed.contains("generated secret key"),
        "says what it carries: {printed}"
    );
    // The second folder already has a key of its own, which the restore replaces.
    run(second.path(), &["migrate", "up"]);
    run(second.path(), &["restore", "--from", snapshot.to_str().unwrap()]);
    let key = |dir: &Path| std::fs::read_to_string(dir.join("data/secret.key")).unwrap();
    assert_eq!(key(second.path()), key(first.path()));
    run(second.path(), &["audit", "verify"]);
}
