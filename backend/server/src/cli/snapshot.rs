//! `attest backup --out FILE` and `attest restore --from FILE` (the snapshot
//! itself is `attest_core::backup`).

use std::{io::IsTerminal as _, path::Path};

use attest_core::{
    backup::{self, Snapshot},
    store::StoreConfig,
};
use attest_server::{
    config::{SecretKeySource, Settings},
    secret_key, startup,
};

pub async fn backup(settings: Settings, out: &Path) -> anyhow::Result<()> {
    let key = secret_key::resolve(&settings.secret_key)?;
    let state = startup::open_state_with_key(&settings, &key, None).await?;
    anyhow::ensure!(
        attest_core::store::migrations::pending_count(&state.db).await? == 0,
        "the database has migrations pending: run `attest migrate up` (or start the server) first"
    );
    // Only a key the installation generated for itself travels with its data.
    let development_key =
        matches!(settings.secret_key, SecretKeySource::GeneratedFile(_)).then(|| key.expose());
    let manifest = backup::create(&state, out, development_key.map(Vec::as_slice), &reporter())
        .await
        .map_err(|e| anyhow::anyhow!(super::describe(&e)))?;
    let events: i64 = manifest.chains.iter().map(|c| c.seq).sum();
    println!(
        "wrote {}: {} organization(s), {events} audit event(s), schema {}",
        out.display(),
        manifest.chains.len(),
        manifest.schema
    );
    if development_key.is_some() {
        eprintln!(
            "note: the snapshot carries this development installation's generated secret key; in production \
             ATTEST_SECRET_KEY is never written into a snapshot and must be kept separately"
        );
    }
    state.close().await?;
    Ok(())
}

pub async fn restore(settings: Settings, from: &Path) -> anyhow::Result<()> {
    let mut snapshot = Snapshot::open(from).map_err(|e| anyhow::anyhow!(super::describe(&e)))?;
    // A development installation takes the generated key the snapshot carries;
    // a configured key must be the snapshot's own (the restore checks).
    let (key, install_key) = match (&settings.secret_key, snapshot.development_key()) {
        (SecretKeySource::GeneratedFile(path), Ok(Some(key))) => {
            (attest_server::config::Secret::new(key), Some(path.clone()))
        }
        (_, Err(e)) => anyhow::bail!(super::describe(&e)),
        _ => (secret_key::resolve(&settings.secret_key)?, None),
    };
    // On a connection of its own (see `Snapshot::restore`).
    let db = attest_core::store::connect(&StoreConfig::new(settings.database_url.expose().clone())).await?;
    attest_core::store::migrations::up(&db).await?;
    db.close().await?;
    let state = startup::open_state_with_key(&settings, &key, None).await?;
    let manifest = snapshot.manifest().clone();
    snapshot
        .restore(&state, &reporter())
        .await
        .map_err(|e| anyhow::anyhow!(super::describe(&e)))?;
    if let Some(path) = install_key {
        secret_key::install(&path, key.expose())?;
    }
    println!(
        "restored {} (taken {} by Attest {} on {}) into {}: {} organization(s), every audit chain verified",
        from.display(),
        manifest.created_at.to_rfc3339(),
        manifest.attest_version,
        manifest.database,
        super::database_named(settings.database_url.expose()),
        manifest.chains.len()
    );
    state.close().await?;
    Ok(())
}

/// Progress on a terminal: one line, rewritten at each step; nothing when
/// stderr is a file or a pipe.
fn reporter() -> impl Fn(&str, u64) {
    let terminal = std::io::stderr().is_terminal();
    let step = std::cell::Cell::new(0);
    move |what, count| {
        if terminal {
            step.set(step.get() + 1);
            eprint!("\r\x1b[2K[{}/{}] {what}: {count}", step.get(), backup::STEPS);
            if step.get() == backup::STEPS {
                eprintln!();
            }
        }
    }
}
