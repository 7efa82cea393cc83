//! How long an authorization decision takes: the compiled in-memory check the
//! request path makes (10 and 10,000 orgs × 10 custom roles × 100 members), what
//! compiling one org's policy costs when it changed, and casbin's own `enforce`
//! over the same policy for comparison. Figures: docs/performance.md.

// A benchmark whose setup fails has nothing to measure: stopping is right.
#![allow(clippy::expect_used)]

use std::hint::black_box;
use std::sync::Arc;

use attest_core::authz::{
    decisions::Decisions,
    policy::{object_action, subject, Member, OrgPolicy},
};
use attest_shared::{permissions::Permission, roles};
use casbin::CoreApi as _;
use chrono::Utc;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use rand::{rngs::StdRng, Rng as _, SeedableRng as _};
use uuid::Uuid;

const ROLES_PER_ORG: usize = 10;
const MEMBERS_PER_ORG: usize = 100;

/// One org: 10 custom roles of 5 permissions each; each member holds a custom
/// role and, for one in five, a built-in one too.
fn org_policy(org: usize, rng: &mut StdRng) -> OrgPolicy {
    let custom_roles = (0..ROLES_PER_ORG)
        .map(|r| {
            let grants = (0..5)
                .map(|_| Permission::ALL[rng.random_range(0..Permission::ALL.len())])
                .collect();
            (format!("custom-{r}"), grants)
        })
        .collect();
    let members = (0..MEMBERS_PER_ORG)
        .map(|m| {
            let mut held = vec![format!("custom-{}", m % ROLES_PER_ORG)];
            if m % 5 == 0 {
                held.push(roles::BUILTIN[m % roles::BUILTIN.len()].to_owned());
            }
            Member {
                user_id: Uuid::from_u128(((org as u128) << 64) | m as u128),
                roles: held,
                expires_at: None,
            }
        })
        .collect();
    OrgPolicy {
        org_id: Uuid::from_u128(org as u128 + 1),
        version: 1,
        members,
        custom_roles,
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime")
}

fn decision(c: &mut Criterion) {
    let runtime = runtime();
    let mut group = c.benchmark_group("authz/decision");
    // `cargo test --all-targets` runs each benchmark once as a smoke test; it
    // need not compile 10,000 orgs in a debug build for that.
    let large = if std::env::args().any(|arg| arg == "--bench") {
        10_000
    } else {
        100
    };
    for orgs in [10usize, large] {
        let mut rng = StdRng::seed_from_u64(7);
        let decisions = Decisions::default();
        let now = Utc::now();
        let mut policies = Vec::with_capacity(orgs);
        for org in 0..orgs {
            let policy = org_policy(org, &mut rng);
            let grants = runtime.block_on(policy.compile(now)).expect("compiles");
            decisions.store(Arc::new(grants));
            policies.push((
                policy.org_id,
                policy.members.iter().map(|m| m.user_id).collect::<Vec<_>>(),
            ));
        }
        // Random (org, member, permission) triples, so the caches see a spread of orgs.
        let checks: Vec<(Uuid, Uuid, Permission)> = (0..4096)
            .map(|_| {
                let (org_id, members) = &policies[rng.random_range(0..orgs)];
                let user = members[rng.random_range(0..members.len())];
                (
                    *org_id,
                    user,
                    Permission::ALL[rng.random_range(0..Permission::ALL.len())],
                )
            })
            .collect();
        let mut next = 0;
        group.bench_function(BenchmarkId::from_parameter(format!("{orgs}_orgs")), |b| {
            b.iter(|| {
                let (org_id, user, permission) = checks[next % checks.len()];
                next += 1;
                let grants = decisions.cached(org_id, 1, now).expect("cached");
                black_box(grants.of(user).contains(permission))
            })
        });
    }
    group.finish();
}

fn compile_and_enforce(c: &mut Criterion) {
    let runtime = runtime();
    let mut rng = StdRng::seed_from_u64(11);
    let policy = org_policy(0, &mut rng);
    let now = Utc::now();
    c.bench_function("authz/compile_one_org", |b| {
        b.iter(|| runtime.block_on(policy.compile(now)).expect("compiles"))
    });
    let enforcer = runtime.block_on(policy.enforcer(now)).expect("an enforcer");
    let domain = policy.org_id.to_string();
    // Member 1 holds one custom role only (member 0 is an owner: nothing is denied).
    let member = subject(policy.members[1].user_id);
    let grants = runtime.block_on(policy.compile(now)).expect("compiles");
    let held = grants.of(policy.members[1].user_id);
    for (name, permission) in [
        ("allowed", held.iter().next().expect("member 1 holds something")),
        (
            "denied",
            Permission::ALL
                .iter()
                .copied()
                .find(|p| !held.contains(*p))
                .expect("not all"),
        ),
    ] {
        let (object, action) = object_action(permission);
        c.bench_function(&format!("authz/casbin_enforce_one_org/{name}"), |b| {
            b.iter(|| {
                enforcer
                    .enforce((member.as_str(), domain.as_str(), object, action))
                    .expect("enforces")
            })
        });
    }
}

criterion_group!(benches, decision, compile_and_enforce);
criterion_main!(benches);
