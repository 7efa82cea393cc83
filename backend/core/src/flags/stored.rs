//! A flag's row: `kind` and `enabled` as columns (the toggle is a one-column
//! change), the rest of its definition as JSON text.

use std::collections::BTreeMap;

use attest_shared::flags::{FlagDefinition, FlagType, Rule, Split};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{store::entities::flags, AppError, AppResult};

/// The JSON of the `definition` column.
#[derive(Serialize, Deserialize)]
struct Stored {
    description: String,
    variants: BTreeMap<String, Value>,
    default_variant: String,
    off_variant: String,
    rules: Vec<Rule>,
    rollout: Option<Vec<Split>>,
}

pub fn definition(row: &flags::Model) -> AppResult<FlagDefinition> {
    let kind = FlagType::parse(&row.kind).ok_or_else(|| AppError::internal("a flag of an unknown type"))?;
    let stored: Stored = serde_json::from_str(&row.definition).map_err(AppError::internal)?;
    Ok(FlagDefinition {
        description: stored.description,
        kind,
        enabled: row.enabled,
        variants: stored.variants,
        default_variant: stored.default_variant,
        off_variant: stored.off_variant,
        rules: stored.rules,
        rollout: stored.rollout,
    })
}

/// The `definition` column's text for `definition`.
pub fn encode(definition: &FlagDefinition) -> AppResult<String> {
    serde_json::to_string(&Stored {
        description: definition.description.clone(),
        variants: definition.variants.clone(),
        default_variant: definition.default_variant.clone(),
        off_variant: definition.off_variant.clone(),
        rules: definition.rules.clone(),
        rollout: definition.rollout.clone(),
    })
    .map_err(AppError::internal)
}
