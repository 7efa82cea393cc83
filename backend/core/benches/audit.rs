//! The audit trail's speed: appends per second (one writer, and eight writers
//! on one org's chain, each append its own transaction), verification of a long
//! chain, and reading a chain for export (JSON lines), on SQLite and, when it is
//! reachable, PostgreSQL (`ATTEST_BENCH_POSTGRES_URL`, default the local server).
//! `cargo bench --bench audit` uses a 1,000,000-event chain; the test run
//! (`cargo test --all-targets`) a small one on SQLite only. Figures:
//! docs/performance.md.

// A benchmark whose setup fails has nothing to measure: stopping is right.
#![allow(clippy::expect_used)]

use std::time::{Duration, Instant};

use attest_core::{
    audit::{self, chain, checkpoint::CheckpointKey, export::Export, Action, Record, Source},
    config::CoreConfig,
    crypto::ServerKey,
    store::{
        self,
        entities::{audit_events, audit_heads},
    },
    tenancy, AppState,
};
use attest_shared::audit::{ActorKind, AuditActor, AuditEvent, AuditTarget, Outcome, GENESIS_HASH};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use sea_orm::{
    sea_query::Expr, ActiveModelTrait as _, ColumnTrait as _, ConnectionTrait as _, Database,
    EntityTrait as _, QueryFilter as _,
};
use uuid::Uuid;

fn full_run() -> bool {
    std::env::args().any(|arg| arg == "--bench")
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime")
}

/// A migrated database of each kind this run measures, by name.
struct Databases {
    states: Vec<(&'static str, AppState)>,
    _dir: tempfile::TempDir,
}

async fn open(url: &str) -> AppState {
    let db = store::connect(&store::StoreConfig::new(url))
        .await
        .expect("database");
    store::migrations::up(&db).await.expect("migrated");
    AppState::new(db, ServerKey::new(vec![7; 32]), CoreConfig::default())
}

async fn databases() -> Databases {
    let dir = tempfile::tempdir().expect("temp dir");
    let sqlite = format!("sqlite://{}?mode=rwc", dir.path().join("bench.db").display());
    let mut states = vec![("sqlite", open(&sqlite).await)];
    if full_run() {
        let admin = std::env::var("ATTEST_BENCH_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        if let Ok(server) = Database::connect(&admin).await {
            // One database, made afresh by each run (and left for inspection).
            let name = "attest_bench";
            for statement in [
                format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
                format!("CREATE DATABASE {name}"),
            ] {
                server
                    .execute_unprepared(&statement)
                    .await
                    .expect("bench database created");
            }
            let url = format!("{}/{name}", admin.rsplit_once('/').expect("a database URL").0);
            states.push(("postgres", open(&url).await));
        }
    }
    Databases { states, _dir: dir }
}

/// A new org with an empty chain.
async fn new_org(state: &AppState) -> Uuid {
    let slug = format!("b{}", Uuid::now_v7().simple());
    let org = tenancy::orgs::new_row(&slug, "Bench".into())
        .insert(&state.db)
        .await
        .expect("org");
    audit::start_chain(&state.db, org.id).await.expect("chain");
    org.id
}

/// A typical event: a user changing a member's roles, with before and after.
fn record(n: u64) -> Record {
    use audit::{Facts, Metadata};
    let roles = |r: &str| Facts {
        roles: Some(vec![r.to_owned(), "contributor".to_owned()]),
        ..Facts::default()
    };
    Record::of(Action::MemberRolesChanged, "user", Uuid::from_u128(u128::from(n)))
        .with(Metadata::change(roles("auditor"), roles("admin")))
}

fn source() -> Source {
    let mut source = Source::system();
    source.actor = AuditActor {
        kind: ActorKind::User,
        id: Some(Uuid::from_u128(1)),
        display: "ada@example.com".into(),
    };
    source.origin.request_id = Some("5f0c6a4e-3b7d-4c1e-9a2f-8d6b0e1f2a3c".into());
    source.origin.ip = Some("203.0.113.7".into());
    source.origin.user_agent = Some("Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0".into());
    source
}

/// `count` appends to one org's chain by `writers` concurrent writers, each
/// append in its own transaction.
async fn append_many(state: &AppState, org: Uuid, writers: u64, count: u64) {
    let tasks: Vec<_> = (0..writers)
        .map(|w| {
            let state = state.clone();
            tokio::spawn(async move {
                let source = source();
                for n in (w..count).step_by(usize::try_from(writers).expect("few writers")) {
                    let txn = state.begin().await.expect("txn");
                    audit::append(&txn, org, &source, record(n))
                        .await
                        .expect("append");
                    txn.commit().await.expect("commit");
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("writer");
    }
}

fn append(c: &mut Criterion) {
    let runtime = runtime();
    let databases = runtime.block_on(databases());
    let mut group = c.benchmark_group("audit/append");
    group.sample_size(10);
    let batch = 200;
    group.throughput(Throughput::Elements(batch));
    for (name, state) in &databases.states {
        let org = runtime.block_on(new_org(state));
        for writers in [1, 8] {
            group.bench_with_input(
                BenchmarkId::new(*name, format!("{writers} writers")),
                &writers,
                |b, &writers| {
                    b.iter(|| runtime.block_on(append_many(state, org, writers, batch)));
                },
            );
        }
    }
    group.finish();
}

/// An org whose chain holds `count` events, written straight into the table
/// (a real append per event would take minutes for a million).
async fn long_chain(state: &AppState, count: u64) -> Uuid {
    let org = new_org(state).await;
    let source = source();
    let start = chrono::Utc::now() - chrono::Duration::days(1);
    let txn = state.begin().await.expect("txn");
    // The head is set once at the end; on PostgreSQL, the trigger that moves it
    // on every insert would update one row a million times in one transaction.
    let postgres = txn.get_database_backend() == sea_orm::DbBackend::Postgres;
    if postgres {
        txn.execute_unprepared("ALTER TABLE audit_events DISABLE TRIGGER audit_head_follows")
            .await
            .expect("trigger off");
    }
    let mut prev = GENESIS_HASH.to_owned();
    let mut batch = Vec::with_capacity(500);
    for n in 1..=count {
        let record = record(n);
        let mut event = AuditEvent {
            id: Uuid::now_v7(),
            seq: i64::try_from(n).expect("seq"),
            occurred_at: start + chrono::Duration::milliseconds(i64::try_from(n).expect("n")),
            actor: source.actor.clone(),
            action: record.action.as_str().to_owned(),
            target: AuditTarget {
                kind: record.target.kind.clone(),
                id: record.target.id.clone(),
            },
            outcome: Outcome::Success,
            request_id: source.origin.request_id.clone(),
            ip: source.origin.ip.clone(),
            user_agent: source.origin.user_agent.clone(),
            metadata: record.metadata.to_json(),
            prev_hash: prev,
            hash: String::new(),
        };
        event.hash = chain::hash(&event).expect("hash");
        prev = event.hash.clone();
        batch.push(audit::writer::row(org, &event));
        if batch.len() == 500 || n == count {
            audit_events::Entity::insert_many(std::mem::take(&mut batch))
                .exec_without_returning(&txn)
                .await
                .expect("insert");
        }
    }
    audit_heads::Entity::update_many()
        .col_expr(
            audit_heads::Column::Seq,
            Expr::value(i64::try_from(count).expect("count")),
        )
        .col_expr(audit_heads::Column::Hash, Expr::value(prev))
        .filter(audit_heads::Column::OrgId.eq(org))
        .exec(&txn)
        .await
        .expect("head");
    if postgres {
        txn.execute_unprepared("ALTER TABLE audit_events ENABLE TRIGGER audit_head_follows")
            .await
            .expect("trigger on");
    }
    txn.commit().await.expect("commit");
    org
}

fn verify_and_export(c: &mut Criterion) {
    let runtime = runtime();
    let databases = runtime.block_on(databases());
    let events: u64 = if full_run() { 1_000_000 } else { 2_000 };
    let mut group = c.benchmark_group("audit/chain");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.throughput(Throughput::Elements(events));
    for (name, state) in &databases.states {
        let started = Instant::now();
        let org = runtime.block_on(long_chain(state, events));
        eprintln!("{name}: wrote a {events}-event chain in {:?}", started.elapsed());
        let key = CheckpointKey::derive(&state.key).public();
        group.bench_function(BenchmarkId::new("verify", *name), |b| {
            b.iter(|| {
                let verdict = runtime
                    .block_on(audit::verify::verify(&state.db, &key, org))
                    .expect("verify");
                assert!(matches!(verdict, audit::verify::Verification::Intact { .. }));
            });
        });
        let export = Export {
            org_id: org,
            up_to_seq: i64::try_from(events).expect("events"),
            events,
        };
        group.bench_function(BenchmarkId::new("export-jsonl", *name), |b| {
            b.iter(|| {
                runtime.block_on(async {
                    let (mut after, mut bytes) = (0, 0);
                    loop {
                        let page = export.page(state, after).await.expect("page");
                        let Some(last) = page.last() else { break };
                        after = last.seq;
                        let mut out = Vec::with_capacity(page.len() * 600);
                        for event in &page {
                            serde_json::to_writer(&mut out, event).expect("json");
                            out.push(b'\n');
                        }
                        bytes += out.len();
                    }
                    assert!(bytes > 0);
                })
            });
        });
    }
    group.finish();
}

criterion_group!(benches, append, verify_and_export);
criterion_main!(benches);
