//! A flag's definition as the API gives it: defaults filled in, then checked as
//! a whole, every problem reported at once with the field it concerns.

use std::collections::BTreeMap;

use attest_shared::{
    error::FieldError,
    flags::{Condition, CreateFlag, FlagDefinition, FlagType, Operator, Rule, Split, UpdateFlag},
};
use serde_json::Value;

use crate::{AppError, AppResult};

/// The variants of a boolean flag created with none.
pub const ON: &str = "on";
pub const OFF: &str = "off";

/// Limits that keep a definition (and its snapshot) small.
const MAX_VARIANTS: usize = 64;
const MAX_RULES: usize = 100;
const MAX_CONDITIONS: usize = 20;
const MAX_DESCRIPTION: usize = 1_000;

/// docs/flags.md: 1–128 characters of `A-Z a-z 0-9 _ . -`, starting with a
/// letter or digit (OpenFeature SDKs and OFREP paths carry keys as they are).
pub fn check_key(key: &str) -> AppResult<()> {
    let valid = (1..=128).contains(&key.len())
        && key.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if valid {
        Ok(())
    } else {
        Err(AppError::invalid_field(
            "key",
            "must be 1–128 characters of A-Z, a-z, 0-9, '_', '.' and '-', starting with a letter or digit",
        ))
    }
}

/// The definition a create asks for, defaults filled in and checked.
pub fn from_create(body: &CreateFlag) -> AppResult<FlagDefinition> {
    let kind = body.kind.unwrap_or_default();
    let variants = match (&body.variants, kind) {
        (Some(variants), _) => variants.clone(),
        (None, FlagType::Boolean) => BTreeMap::from([
            (ON.to_owned(), Value::Bool(true)),
            (OFF.to_owned(), Value::Bool(false)),
        ]),
        (None, _) => BTreeMap::new(),
    };
    let default_variant = body
        .default_variant
        .clone()
        .or_else(|| variants.contains_key(ON).then(|| ON.to_owned()))
        .or_else(|| {
            (variants.len() == 1)
                .then(|| variants.keys().next().cloned())
                .flatten()
        })
        .unwrap_or_default();
    let off_variant = body
        .off_variant
        .clone()
        .unwrap_or_else(|| off_variant_for(&variants, &default_variant));
    let definition = FlagDefinition {
        description: body.description.clone().unwrap_or_default(),
        kind,
        enabled: body.enabled,
        variants,
        default_variant,
        off_variant,
        rules: body.rules.clone().unwrap_or_default(),
        rollout: body.rollout.clone(),
    };
    check(&definition)?;
    Ok(definition)
}

/// `off` when the flag has such a variant, else the default variant.
fn off_variant_for(variants: &BTreeMap<String, Value>, default_variant: &str) -> String {
    if variants.contains_key(OFF) {
        OFF.to_owned()
    } else {
        default_variant.to_owned()
    }
}

/// `current` with the members of a PATCH applied, checked.
pub fn patched(current: &FlagDefinition, patch: &UpdateFlag) -> AppResult<FlagDefinition> {
    let mut next = current.clone();
    if let Some(enabled) = patch.enabled {
        next.enabled = enabled;
    }
    if let Some(description) = &patch.description {
        next.description = description.clone();
    }
    if let Some(kind) = patch.kind {
        next.kind = kind;
    }
    if let Some(variants) = &patch.variants {
        next.variants = variants.clone();
    }
    if let Some(default_variant) = &patch.default_variant {
        next.default_variant = default_variant.clone();
    }
    match &patch.off_variant {
        Some(off_variant) => next.off_variant = off_variant.clone(),
        // New variants without `off_variant`: the usual one, if the old one is gone.
        None if !next.variants.contains_key(&next.off_variant) => {
            next.off_variant = off_variant_for(&next.variants, &next.default_variant);
        }
        None => {}
    }
    if let Some(rules) = &patch.rules {
        next.rules = rules.clone();
    }
    if let Some(rollout) = &patch.rollout {
        next.rollout = rollout.clone();
    }
    check(&next)?;
    Ok(next)
}

/// Every problem of `definition`, each with its field (`variants.beta`,
/// `rules[2].conditions[0].value`, …).
pub fn check(definition: &FlagDefinition) -> AppResult<()> {
    let mut problems = Problems::default();
    if definition.description.chars().count() > MAX_DESCRIPTION {
        problems.add(
            "description",
            format!("must be at most {MAX_DESCRIPTION} characters"),
        );
    }
    if definition.variants.is_empty() {
        problems.add(
            "variants",
            format!("a {} flag needs at least one variant", definition.kind.as_str()),
        );
    }
    if definition.variants.len() > MAX_VARIANTS {
        problems.add("variants", format!("at most {MAX_VARIANTS} variants"));
    }
    for (name, value) in &definition.variants {
        if name.is_empty() || name.len() > 64 {
            problems.add("variants", "variant names must be 1–64 characters");
        }
        if !definition.kind.holds(value) {
            problems.add(
                &format!("variants.{name}"),
                format!(
                    "must be a {} value, as the flag's type says",
                    definition.kind.as_str()
                ),
            );
        }
    }
    problems.variant(definition, "default_variant", &definition.default_variant);
    problems.variant(definition, "off_variant", &definition.off_variant);
    if definition.rules.len() > MAX_RULES {
        problems.add("rules", format!("at most {MAX_RULES} rules"));
    }
    for (i, rule) in definition.rules.iter().enumerate() {
        problems.rule(definition, &format!("rules[{i}]"), rule);
    }
    if let Some(rollout) = &definition.rollout {
        problems.rollout(definition, "rollout", rollout);
    }
    problems.into_result()
}

#[derive(Default)]
struct Problems(Vec<FieldError>);

impl Problems {
    fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0.push(FieldError {
            field: field.to_owned(),
            message: message.into(),
        });
    }

    fn variant(&mut self, definition: &FlagDefinition, field: &str, name: &str) {
        if !definition.variants.contains_key(name) {
            let message = if name.is_empty() {
                "is required when the flag has several variants and none is called `on`".to_owned()
            } else {
                format!("unknown variant `{name}`")
            };
            self.add(field, message);
        }
    }

    fn rule(&mut self, definition: &FlagDefinition, field: &str, rule: &Rule) {
        if rule.conditions.len() > MAX_CONDITIONS {
            self.add(
                &format!("{field}.conditions"),
                format!("at most {MAX_CONDITIONS} conditions"),
            );
        }
        for (i, condition) in rule.conditions.iter().enumerate() {
            if let Err(message) = check_condition(condition) {
                self.add(&format!("{field}.conditions[{i}].value"), message);
            }
            if condition.attribute.is_empty() {
                self.add(&format!("{field}.conditions[{i}].attribute"), "must not be empty");
            }
        }
        match (&rule.variant, &rule.rollout) {
            (Some(variant), None) => self.variant(definition, &format!("{field}.variant"), variant),
            (None, Some(rollout)) => self.rollout(definition, &format!("{field}.rollout"), rollout),
            _ => self.add(field, "a rule serves either a `variant` or a `rollout`"),
        }
    }

    fn rollout(&mut self, definition: &FlagDefinition, field: &str, rollout: &[Split]) {
        let total: u32 = rollout.iter().map(|split| u32::from(split.weight)).sum();
        if total != 100 {
            self.add(field, format!("weights must sum to 100 (they sum to {total})"));
        }
        for (i, split) in rollout.iter().enumerate() {
            self.variant(definition, &format!("{field}[{i}].variant"), &split.variant);
        }
    }

    fn into_result(self) -> AppResult<()> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(AppError::validation(self.0))
        }
    }
}

/// Whether the condition's value suits its operator.
fn check_condition(condition: &Condition) -> Result<(), String> {
    use Operator::*;
    let value = &condition.value;
    match condition.operator {
        Equals => Ok(()),
        OneOf if value.is_array() => Ok(()),
        OneOf => Err("`one_of` takes an array of values".into()),
        Contains => Ok(()),
        StartsWith | EndsWith if value.is_string() => Ok(()),
        StartsWith | EndsWith => Err("takes a string".into()),
        Gt | Gte | Lt | Lte if value.is_number() => Ok(()),
        Gt | Gte | Lt | Lte => Err("a numeric comparison takes a number".into()),
        SemverEq | SemverGt | SemverGte | SemverLt | SemverLte => value
            .as_str()
            .and_then(|text| semver::Version::parse(text).ok())
            .map(|_| ())
            .ok_or_else(|| "takes a semantic version such as \"1.4.0\"".into()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn fields(result: AppResult<FlagDefinition>) -> Vec<String> {
        result
            .err()
            .map_or_else(Vec::new, |e| e.errors.into_iter().map(|f| f.field).collect())
    }

    #[test]
    fn the_minimal_flag_is_a_boolean_that_is_on_while_enabled() {
        let definition = from_create(&CreateFlag {
            key: "k".into(),
            enabled: true,
            ..CreateFlag::default()
        })
        .unwrap();
        assert_eq!(definition.kind, FlagType::Boolean);
        assert_eq!(definition.variants[ON], json!(true));
        assert_eq!(definition.variants[OFF], json!(false));
        assert_eq!(
            (
                definition.default_variant.as_str(),
                definition.off_variant.as_str()
            ),
            (ON, OFF)
        );
    }

    #[test]
    fn every_problem_is_reported_with_its_field() {
        let body: CreateFlag = serde_json::from_value(json!({
            "key": "checkout",
            "enabled": true,
            "type": "string",
            "variants": {"blue": "blue", "red": 7},
            "default_variant": "green",
            "rules": [
                {"conditions": [{"attribute": "plan", "operator": "one_of", "value": "pro"}], "variant": "blue"},
                {"conditions": [{"attribute": "version", "operator": "semver_gte", "value": "two"}], "rollout": [{"variant": "blue", "weight": 50}]},
                {"conditions": [], "variant": "purple"}
            ],
            "rollout": [{"variant": "blue", "weight": 60}, {"variant": "red", "weight": 30}]
        }))
        .unwrap();
        assert_eq!(
            fields(from_create(&body)),
            [
                "variants.red",
                "default_variant",
                "off_variant",
                "rules[0].conditions[0].value",
                "rules[1].conditions[0].value",
                "rules[1].rollout",
                "rules[2].variant",
                "rollout",
            ]
        );
    }

    #[test]
    fn a_patch_keeps_what_it_does_not_name() {
        let current = from_create(&CreateFlag {
            key: "k".into(),
            enabled: true,
            description: Some("kept".into()),
            ..CreateFlag::default()
        })
        .unwrap();
        let toggled = patched(
            &current,
            &UpdateFlag {
                enabled: Some(false),
                ..UpdateFlag::default()
            },
        )
        .unwrap();
        assert_eq!((toggled.enabled, toggled.description.as_str()), (false, "kept"));
        let rolled: UpdateFlag =
            serde_json::from_value(json!({"rollout": [{"variant": "on", "weight": 100}]})).unwrap();
        let rolled = patched(&current, &rolled).unwrap();
        assert!(rolled.rollout.is_some());
        let removed: UpdateFlag = serde_json::from_value(json!({"rollout": null})).unwrap();
        assert_eq!(patched(&rolled, &removed).unwrap().rollout, None);
        let bad: UpdateFlag = serde_json::from_value(json!({"type": "number"})).unwrap();
        assert_eq!(fields(patched(&current, &bad)), ["variants.off", "variants.on"]);
    }

    #[test]
    fn keys_follow_the_documented_rules() {
        for good in ["a", "new-checkout", "Checkout.v2_beta", "9lives"] {
            assert!(check_key(good).is_ok(), "{good}");
        }
        for bad in ["", "-x", "a b", "a/b", "é", &"k".repeat(129)] {
            assert!(check_key(bad).is_err(), "{bad}");
        }
    }
}
