//! Evaluation: pure and synchronous, over a flag compiled once per snapshot.
//!
//! Order (docs/flags.md): a disabled flag serves its off variant (`DISABLED`);
//! else the first rule whose conditions all hold serves its variant
//! (`TARGETING_MATCH`) or splits by its rollout (`SPLIT`); else the flag's
//! rollout splits (`SPLIT`); else the default variant (`STATIC` for a flag
//! without rules, `DEFAULT` when rules exist and none matched).
//!
//! Bucketing is Unleash's normalized hash: MurmurHash3 (x86, 32-bit, seed 0) of
//! `"{flag_key}:{targeting_key}"`, modulo 100, plus one, so a bucket is 1–100,
//! the same on every instance and across restarts, and the same as Unleash
//! gives the same user for a group named after the flag. A rollout's splits
//! take the buckets in order: raising the first split from 10 to 20 keeps
//! buckets 1–10 where they were.

use std::io::Read as _;

use attest_shared::flags::{Condition, ErrorCode, FlagDefinition, Operator, Reason, Split};
use serde_json::{Map, Value};

/// The evaluation context: the targeting key and the other attributes.
#[derive(Debug, Clone, Default)]
pub struct Context {
    targeting_key: Option<String>,
    /// Every attribute, the targeting key included (as `targetingKey`), so a
    /// condition reads any of them without copying.
    attributes: Map<String, Value>,
}

/// The attribute name that reads the targeting key.
pub const TARGETING_KEY: &str = "targetingKey";

impl Context {
    pub fn new(targeting_key: Option<String>, mut attributes: Map<String, Value>) -> Context {
        match &targeting_key {
            Some(key) => attributes.insert(TARGETING_KEY.to_owned(), Value::String(key.clone())),
            None => attributes.remove(TARGETING_KEY),
        };
        Context {
            targeting_key,
            attributes,
        }
    }

    /// OFREP's `context` object: `targetingKey` must be a string when present.
    pub fn from_json(context: Value) -> Result<Context, (ErrorCode, String)> {
        let attributes = match context {
            Value::Object(attributes) => attributes,
            Value::Null => Map::new(),
            _ => return Err((ErrorCode::InvalidContext, "`context` must be an object".into())),
        };
        let targeting_key = match attributes.get(TARGETING_KEY) {
            None | Some(Value::Null) => None,
            Some(Value::String(key)) => Some(key.clone()),
            Some(_) => {
                return Err((
                    ErrorCode::InvalidContext,
                    "`targetingKey` must be a string".into(),
                ));
            }
        };
        Ok(Context::new(targeting_key, attributes))
    }

    pub fn targeting_key(&self) -> Option<&str> {
        self.targeting_key.as_deref()
    }
}

/// What an evaluation served.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolution<'a> {
    pub variant: &'a str,
    pub value: &'a Value,
    pub reason: Reason,
}

/// Why an evaluation could not serve anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub code: ErrorCode,
    pub details: String,
}

/// A flag ready to evaluate: its definition with semantic versions parsed.
#[derive(Debug, Clone)]
pub struct CompiledFlag {
    pub key: String,
    pub definition: FlagDefinition,
    rules: Vec<CompiledRule>,
}

#[derive(Debug, Clone)]
struct CompiledRule {
    conditions: Vec<CompiledCondition>,
    serves: Serves,
}

#[derive(Debug, Clone)]
enum Serves {
    Variant(String),
    Rollout(Vec<Split>),
}

#[derive(Debug, Clone)]
struct CompiledCondition {
    condition: Condition,
    /// The value as a version, for the semver operators.
    version: Option<semver::Version>,
}

impl CompiledFlag {
    pub fn new(key: String, definition: FlagDefinition) -> CompiledFlag {
        let rules = definition
            .rules
            .iter()
            .map(|rule| CompiledRule {
                conditions: rule
                    .conditions
                    .iter()
                    .map(|condition| CompiledCondition {
                        version: condition
                            .value
                            .as_str()
                            .and_then(|v| semver::Version::parse(v).ok()),
                        condition: condition.clone(),
                    })
                    .collect(),
                serves: match (&rule.variant, &rule.rollout) {
                    (_, Some(rollout)) => Serves::Rollout(rollout.clone()),
                    (variant, None) => Serves::Variant(variant.clone().unwrap_or_default()),
                },
            })
            .collect();
        CompiledFlag {
            key,
            definition,
            rules,
        }
    }

    pub fn evaluate(&self, context: &Context) -> Result<Resolution<'_>, Failure> {
        let definition = &self.definition;
        if !definition.enabled {
            return self.serve(&definition.off_variant, Reason::Disabled);
        }
        for rule in &self.rules {
            if rule.conditions.iter().all(|c| c.holds(context)) {
                return match &rule.serves {
                    Serves::Variant(variant) => self.serve(variant, Reason::TargetingMatch),
                    Serves::Rollout(rollout) => self.split(rollout, context),
                };
            }
        }
        if let Some(rollout) = &definition.rollout {
            return self.split(rollout, context);
        }
        let reason = if self.rules.is_empty() {
            Reason::Static
        } else {
            Reason::Default
        };
        self.serve(&definition.default_variant, reason)
    }

    fn split(&self, rollout: &[Split], context: &Context) -> Result<Resolution<'_>, Failure> {
        let Some(targeting_key) = &context.targeting_key else {
            return Err(Failure {
                code: ErrorCode::TargetingKeyMissing,
                details: format!("`{}` splits its audience by the targeting key", self.key),
            });
        };
        let bucket = bucket(&self.key, targeting_key);
        let mut upper = 0_u32;
        for split in rollout {
            upper += u32::from(split.weight);
            if bucket <= upper {
                return self.serve(&split.variant, Reason::Split);
            }
        }
        Err(general("the rollout does not cover every bucket"))
    }

    fn serve(&self, variant: &str, reason: Reason) -> Result<Resolution<'_>, Failure> {
        // A checked definition names only variants it has.
        let (variant, value) = self
            .definition
            .variants
            .get_key_value(variant)
            .ok_or_else(|| general("the flag names a variant it does not have"))?;
        Ok(Resolution {
            variant,
            value,
            reason,
        })
    }
}

fn general(details: &str) -> Failure {
    Failure {
        code: ErrorCode::General,
        details: details.to_owned(),
    }
}

/// The targeting key's bucket for this flag, 1–100 (see the module docs).
pub fn bucket(flag_key: &str, targeting_key: &str) -> u32 {
    let mut text = flag_key
        .as_bytes()
        .chain(b":".as_slice())
        .chain(targeting_key.as_bytes());
    // Reading from memory cannot fail.
    murmur3::murmur3_32(&mut text, 0).unwrap_or_default() % 100 + 1
}

impl CompiledCondition {
    fn holds(&self, context: &Context) -> bool {
        let held = context
            .attributes
            .get(&self.condition.attribute)
            .is_some_and(|attribute| self.test(attribute));
        held != self.condition.negate
    }

    fn test(&self, attribute: &Value) -> bool {
        use Operator::*;
        let value = &self.condition.value;
        match self.condition.operator {
            Equals => same(attribute, value),
            OneOf => value
                .as_array()
                .is_some_and(|items| items.iter().any(|item| same(attribute, item))),
            Contains => match (attribute, value) {
                (Value::String(text), Value::String(part)) => text.contains(part.as_str()),
                (Value::Array(items), _) => items.iter().any(|item| same(item, value)),
                _ => false,
            },
            StartsWith => strings(attribute, value).is_some_and(|(text, part)| text.starts_with(part)),
            EndsWith => strings(attribute, value).is_some_and(|(text, part)| text.ends_with(part)),
            Gt | Gte | Lt | Lte => match (attribute.as_f64(), value.as_f64()) {
                (Some(a), Some(b)) => order_holds(self.condition.operator, a.partial_cmp(&b)),
                _ => false,
            },
            SemverEq | SemverGt | SemverGte | SemverLt | SemverLte => {
                let attribute = attribute.as_str().and_then(|v| semver::Version::parse(v).ok());
                match (attribute, &self.version) {
                    (Some(a), Some(b)) => order_holds(self.condition.operator, Some(a.cmp(b))),
                    _ => false,
                }
            }
        }
    }
}

/// JSON equality, numbers by value.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

fn strings<'a>(a: &'a Value, b: &'a Value) -> Option<(&'a str, &'a str)> {
    Some((a.as_str()?, b.as_str()?))
}

fn order_holds(operator: Operator, ordering: Option<std::cmp::Ordering>) -> bool {
    use std::cmp::Ordering::*;
    use Operator::*;
    matches!(
        (operator, ordering),
        (Gt | SemverGt, Some(Greater))
            | (Gte | SemverGte, Some(Greater | Equal))
            | (Lt | SemverLt, Some(Less))
            | (Lte | SemverLte, Some(Less | Equal))
            | (SemverEq, Some(Equal))
    )
}

#[cfg(test)]
mod tests {
    use attest_shared::flags::CreateFlag;
    use serde_json::json;

    use super::*;
    use crate::flags::definition;

    fn flag(body: Value) -> CompiledFlag {
        let body: CreateFlag = serde_json::from_value(body).unwrap();
        CompiledFlag::new(body.key.clone(), definition::from_create(&body).unwrap())
    }

    fn context(json: Value) -> Context {
        Context::from_json(json).unwrap()
    }

    fn served(flag: &CompiledFlag, json: Value) -> (String, Reason) {
        let resolution = flag.evaluate(&context(json)).unwrap();
        (resolution.variant.to_owned(), resolution.reason)
    }

    /// Published MurmurHash3 x86_32 vectors (SMHasher's verification values
    /// as widely reproduced), so the bucketing is the algorithm's and not a
    /// look-alike.
    #[test]
    fn murmur3_matches_published_vectors() {
        let hash =
            |text: &[u8], seed: u32| murmur3::murmur3_32(&mut std::io::Cursor::new(text), seed).unwrap();
        assert_eq!(hash(b"", 0), 0);
        assert_eq!(hash(b"", 1), 0x514e_28b7);
        assert_eq!(hash(b"", 0xffff_ffff), 0x81f1_6f39);
        assert_eq!(hash(b"\0\0\0\0", 0), 0x2362_f9de);
        assert_eq!(hash(b"aaaa", 0x9747_b28c), 0x5a97_808a);
        assert_eq!(hash(b"Hello, world!", 0x9747_b28c), 0x2488_4cba);
        assert_eq!(
            hash(b"The quick brown fox jumps over the lazy dog", 0x9747_b28c),
            0x2fa8_26cd
        );
    }

    /// The same bucket as Unleash's own engine gives a user for a group
    /// named after the flag.
    #[test]
    fn buckets_are_unleash_normalized_hashes() {
        for n in 0..2_000 {
            let (flag, user) = (format!("flag-{}", n % 7), format!("user-{n}"));
            let unleash = unleash_yggdrasil::strategy_parsing::normalized_hash(&flag, &user, 100, 0).unwrap();
            assert_eq!(bucket(&flag, &user), unleash, "{flag}:{user}");
        }
    }

    #[test]
    fn the_minimal_flag_is_true_while_enabled_and_false_while_disabled() {
        let on = flag(json!({"key": "k", "enabled": true}));
        let resolution = on.evaluate(&Context::default()).unwrap();
        assert_eq!(
            (resolution.value, resolution.reason),
            (&json!(true), Reason::Static)
        );
        let off = flag(json!({"key": "k", "enabled": false}));
        let resolution = off.evaluate(&Context::default()).unwrap();
        assert_eq!(
            (resolution.value, resolution.reason),
            (&json!(false), Reason::Disabled)
        );
    }

    #[test]
    fn the_first_rule_that_holds_serves_else_the_default() {
        let f = flag(json!({
            "key": "theme", "enabled": true, "type": "string",
            "variants": {"dark": "dark", "light": "light", "beta": "beta"},
            "default_variant": "light",
            "rules": [
                {"conditions": [{"attribute": "email", "operator": "ends_with", "value": "@acme.com"},
                                {"attribute": "plan", "operator": "one_of", "value": ["pro", "enterprise"]}],
                 "variant": "beta"},
                {"conditions": [{"attribute": "email", "operator": "ends_with", "value": "@acme.com"}], "variant": "dark"}
            ]
        }));
        let acme_pro = json!({"email": "ada@acme.com", "plan": "pro"});
        assert_eq!(served(&f, acme_pro), ("beta".into(), Reason::TargetingMatch));
        assert_eq!(
            served(&f, json!({"email": "ada@acme.com"})),
            ("dark".into(), Reason::TargetingMatch)
        );
        assert_eq!(
            served(&f, json!({"email": "bob@globex.com"})),
            ("light".into(), Reason::Default)
        );
    }

    #[test]
    fn every_operator_tests_as_documented() {
        let holds = |attribute: Value, operator: &str, value: Value, negate: bool| {
            let f = flag(json!({
                "key": "k", "enabled": true,
                "rules": [{"conditions": [{"attribute": "a", "operator": operator, "value": value, "negate": negate}], "variant": "off"}]
            }));
            let context = match attribute {
                Value::Null => json!({}),
                attribute => json!({"a": attribute}),
            };
            served(&f, context).1 == Reason::TargetingMatch
        };
        let cases: &[(Value, &str, Value, bool)] = &[
            (json!("x"), "equals", json!("x"), true),
            (json!(2), "equals", json!(2.0), true),
            (json!("2"), "equals", json!(2), false),
            (json!("pro"), "one_of", json!(["free", "pro"]), true),
            (json!("team"), "one_of", json!(["free", "pro"]), false),
            (json!("hello world"), "contains", json!("lo w"), true),
            (json!(["a", "b"]), "contains", json!("b"), true),
            (json!(["a", "b"]), "contains", json!("c"), false),
            (json!("ada@acme.com"), "starts_with", json!("ada@"), true),
            (json!("ada@acme.com"), "ends_with", json!("@acme.com"), true),
            (json!("ada@acme.com"), "ends_with", json!("@globex.com"), false),
            (json!(5), "gt", json!(4), true),
            (json!(4), "gt", json!(4), false),
            (json!(4), "gte", json!(4), true),
            (json!(3.5), "lt", json!(4), true),
            (json!(4), "lte", json!(4), true),
            (json!("5"), "gt", json!(4), false),
            (json!("1.4.0"), "semver_eq", json!("1.4.0"), true),
            (json!("1.10.0"), "semver_gt", json!("1.9.0"), true),
            (json!("1.4.0-beta.1"), "semver_lt", json!("1.4.0"), true),
            (json!("1.4.0"), "semver_gte", json!("1.4.0"), true),
            (json!("1.3.9"), "semver_lte", json!("1.4.0"), true),
            (json!("not a version"), "semver_lt", json!("1.4.0"), false),
            (Value::Null, "equals", json!("x"), false),
        ];
        for (attribute, operator, value, expected) in cases {
            assert_eq!(
                holds(attribute.clone(), operator, value.clone(), false),
                *expected,
                "{attribute} {operator} {value}"
            );
            assert_eq!(
                holds(attribute.clone(), operator, value.clone(), true),
                !*expected,
                "{attribute} not {operator} {value}"
            );
        }
        // The targeting key is an attribute too.
        let f = flag(json!({
            "key": "k", "enabled": true,
            "rules": [{"conditions": [{"attribute": "targetingKey", "operator": "equals", "value": "u-1"}], "variant": "off"}]
        }));
        assert_eq!(
            served(&f, json!({"targetingKey": "u-1"})).1,
            Reason::TargetingMatch
        );
    }

    fn rollout(percent: u8) -> CompiledFlag {
        flag(json!({
            "key": "new-checkout", "enabled": true,
            "rollout": [{"variant": "on", "weight": percent}, {"variant": "off", "weight": 100 - percent}]
        }))
    }

    fn share_on(flag: &CompiledFlag, keys: u32) -> Vec<bool> {
        (0..keys)
            .map(|n| served(flag, json!({"targetingKey": format!("user-{n}")})).0 == "on")
            .collect()
    }

    #[test]
    fn rollouts_are_stable_grow_monotonically_and_split_evenly() {
        let keys = 100_000;
        let (ten, twenty) = (share_on(&rollout(10), keys), share_on(&rollout(20), keys));
        assert_eq!(
            share_on(&rollout(10), keys),
            ten,
            "the same key lands in the same bucket"
        );
        assert!(
            ten.iter()
                .zip(&twenty)
                .all(|(in_ten, in_twenty)| !in_ten || *in_twenty),
            "raising 10 % to 20 % keeps the first 10 % in"
        );
        for (percent, got) in [(10, &ten), (20, &twenty)] {
            let share = got.iter().filter(|on| **on).count() as f64 / f64::from(keys) * 100.0;
            assert!(
                (share - f64::from(percent)).abs() <= 2.0,
                "{percent} % rollout gave {share:.2} %"
            );
        }
        let half = rollout(50);
        let resolution = half.evaluate(&context(json!({"targetingKey": "u"}))).unwrap();
        assert_eq!(resolution.reason, Reason::Split);
    }

    #[test]
    fn a_split_without_a_targeting_key_is_an_error_and_bad_contexts_are_refused() {
        let failure = rollout(50).evaluate(&Context::default()).unwrap_err();
        assert_eq!(failure.code, ErrorCode::TargetingKeyMissing);
        assert_eq!(
            Context::from_json(json!([1])).unwrap_err().0,
            ErrorCode::InvalidContext
        );
        assert_eq!(
            Context::from_json(json!({"targetingKey": 7})).unwrap_err().0,
            ErrorCode::InvalidContext
        );
    }
}
