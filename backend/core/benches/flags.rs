//! Nanoseconds per flag evaluation, Attest's engine beside Unleash's own
//! (`unleash-yggdrasil`) on equivalent flags in the same run: a flag with no
//! rules, ten targeting rules of which the last matches, and a 50/50 rollout.
//! Figures: docs/performance.md.

// A benchmark whose setup fails has nothing to measure: stopping is right.
#![allow(clippy::expect_used)]

use std::{collections::HashMap, hint::black_box};

use attest_core::flags::{
    definition,
    engine::{CompiledFlag, Context},
};
use criterion::{criterion_group, criterion_main, Criterion};
use serde_json::{json, Value};
use unleash_yggdrasil::{ClientFeatures, EngineState};

fn attest_flag(body: Value) -> CompiledFlag {
    let body = serde_json::from_value(body).expect("a flag body");
    CompiledFlag::new(
        "test".into(),
        definition::from_create(&body).expect("a valid flag"),
    )
}

fn unleash_engine(strategies: Value) -> EngineState {
    let features: ClientFeatures = serde_json::from_value(json!({
        "version": 2,
        "features": [{"name": "test", "enabled": true, "strategies": strategies}]
    }))
    .expect("Unleash client features");
    let engine = EngineState::initial_state(chrono::Utc::now());
    engine.take_state(unleash_yggdrasil::UpdateMessage::FullResponse(features));
    engine
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("flag evaluation");
    let attest_context = Context::new(
        Some("user-7".into()),
        serde_json::from_value(json!({"plan": "tier-9"})).expect("attributes"),
    );
    let unleash_context = unleash_yggdrasil::Context {
        user_id: Some("user-7".into()),
        properties: Some(HashMap::from([("plan".to_owned(), "tier-9".to_owned())])),
        ..unleash_yggdrasil::Context::default()
    };

    let simple = attest_flag(json!({"key": "test", "enabled": true}));
    group.bench_function("simple/attest", |b| {
        b.iter(|| black_box(&simple).evaluate(black_box(&attest_context)))
    });
    let engine = unleash_engine(json!([]));
    group.bench_function("simple/unleash-yggdrasil", |b| {
        b.iter(|| engine.is_enabled(black_box("test"), black_box(&unleash_context), &None))
    });

    let rules: Vec<Value> = (0..10)
        .map(|i| json!({"conditions": [{"attribute": "plan", "operator": "equals", "value": format!("tier-{i}")}], "variant": "on"}))
        .collect();
    let ten_rules =
        attest_flag(json!({"key": "test", "enabled": true, "default_variant": "off", "rules": rules}));
    group.bench_function("ten rules/attest", |b| {
        b.iter(|| black_box(&ten_rules).evaluate(black_box(&attest_context)))
    });
    let strategies: Vec<Value> = (0..10)
        .map(|i| json!({"name": "default", "constraints": [{"contextName": "plan", "operator": "IN", "values": [format!("tier-{i}")]}]}))
        .collect();
    let engine = unleash_engine(Value::Array(strategies));
    // Both match on the tenth rule: the same work.
    assert_eq!(
        ten_rules.evaluate(&attest_context).map(|r| r.variant).ok(),
        Some("on")
    );
    assert!(engine.is_enabled("test", &unleash_context, &None));
    group.bench_function("ten rules/unleash-yggdrasil", |b| {
        b.iter(|| engine.is_enabled(black_box("test"), black_box(&unleash_context), &None))
    });

    let rollout = attest_flag(json!({
        "key": "test", "enabled": true,
        "rollout": [{"variant": "on", "weight": 50}, {"variant": "off", "weight": 50}]
    }));
    group.bench_function("rollout/attest", |b| {
        b.iter(|| black_box(&rollout).evaluate(black_box(&attest_context)))
    });
    let engine = unleash_engine(
        json!([{"name": "flexibleRollout", "parameters": {"rollout": "50", "stickiness": "userId", "groupId": "test"}}]),
    );
    group.bench_function("rollout/unleash-yggdrasil", |b| {
        b.iter(|| engine.is_enabled(black_box("test"), black_box(&unleash_context), &None))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
