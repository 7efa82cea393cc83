//! Feature flags as the API and the console see them (docs/flags.md), and the
//! shapes of the OpenFeature Remote Evaluation Protocol (OFREP) answers.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What a flag's variants hold.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum FlagType {
    #[default]
    Boolean,
    String,
    Number,
    Object,
}

impl FlagType {
    pub fn as_str(self) -> &'static str {
        match self {
            FlagType::Boolean => "boolean",
            FlagType::String => "string",
            FlagType::Number => "number",
            FlagType::Object => "object",
        }
    }

    pub fn parse(name: &str) -> Option<FlagType> {
        [
            FlagType::Boolean,
            FlagType::String,
            FlagType::Number,
            FlagType::Object,
        ]
        .into_iter()
        .find(|t| t.as_str() == name)
    }

    /// Whether `value` is of this type.
    pub fn holds(self, value: &Value) -> bool {
        match self {
            FlagType::Boolean => value.is_boolean(),
            FlagType::String => value.is_string(),
            FlagType::Number => value.is_number(),
            FlagType::Object => value.is_object(),
        }
    }
}

/// How a condition compares a context attribute with its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Operator {
    /// The attribute equals the value (numbers by value: `1` equals `1.0`).
    Equals,
    /// The attribute equals one of the value's items (an array).
    OneOf,
    /// A string attribute contains the value's text, or an array attribute holds the value.
    Contains,
    StartsWith,
    EndsWith,
    /// Numeric comparisons: attribute `op` value.
    Gt,
    Gte,
    Lt,
    Lte,
    /// Semantic-version comparisons (SemVer 2.0: `1.2.3-beta.1`): attribute `op` value.
    SemverEq,
    SemverGt,
    SemverGte,
    SemverLt,
    SemverLte,
}

/// One test of the evaluation context.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Condition {
    /// A context attribute's name; `targetingKey` is the targeting key.
    pub attribute: String,
    pub operator: Operator,
    pub value: Value,
    /// Inverts the result. A missing attribute fails every test, so a negated
    /// test holds when the attribute is missing.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub negate: bool,
}

/// A share of a rollout: `weight` percent of targeting keys get `variant`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Split {
    pub variant: String,
    pub weight: u8,
}

/// A targeting rule: when every condition holds, serve `variant`, or split by `rollout`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Rule {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default)]
    pub conditions: Vec<Condition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout: Option<Vec<Split>>,
}

/// What a flag serves: everything but its key and bookkeeping. Also what the
/// audit trail records before and after a change.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FlagDefinition {
    pub description: String,
    #[serde(rename = "type")]
    pub kind: FlagType,
    pub enabled: bool,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub variants: BTreeMap<String, Value>,
    /// Served while enabled when no rule matches and there is no rollout.
    pub default_variant: String,
    /// Served while disabled (reason `DISABLED`).
    pub off_variant: String,
    pub rules: Vec<Rule>,
    /// Splits the targeting keys no rule matched.
    pub rollout: Option<Vec<Split>>,
}

/// A flag: `GET /api/v1/orgs/{org}/flags/{key}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FlagView {
    pub key: String,
    #[serde(flatten)]
    pub definition: FlagDefinition,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When an evaluation last served it (kept to the minute).
    pub last_evaluated_at: Option<DateTime<Utc>>,
    /// Not evaluated for 30 days (or never, and created over 30 days ago).
    pub stale: bool,
}

/// `POST /api/v1/orgs/{org}/flags`. Only `key` and `enabled` are required: a
/// boolean flag with variants `on` (`true`, the default) and `off` (`false`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateFlag {
    pub key: String,
    pub enabled: bool,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default, rename = "type")]
    pub kind: Option<FlagType>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub variants: Option<BTreeMap<String, Value>>,
    #[serde(default)]
    pub default_variant: Option<String>,
    #[serde(default)]
    pub off_variant: Option<String>,
    #[serde(default)]
    pub rules: Option<Vec<Rule>>,
    #[serde(default)]
    pub rollout: Option<Vec<Split>>,
}

/// `PATCH /api/v1/orgs/{org}/flags/{key}`: the members sent replace the
/// flag's; `rollout: null` removes the rollout.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UpdateFlag {
    #[serde(default)]
    pub enabled: Option<bool>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default, rename = "type")]
    pub kind: Option<FlagType>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub variants: Option<BTreeMap<String, Value>>,
    #[serde(default)]
    pub default_variant: Option<String>,
    #[serde(default)]
    pub off_variant: Option<String>,
    #[serde(default)]
    pub rules: Option<Vec<Rule>>,
    #[serde(default, with = "crate::nullable")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Vec<Split>>))]
    pub rollout: Option<Option<Vec<Split>>>,
}

/// Why an evaluation served what it did (OpenFeature's resolution reasons).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Reason {
    /// No rules and no rollout: the default variant.
    Static,
    /// A rule's conditions held.
    TargetingMatch,
    /// A rollout bucketed the targeting key.
    Split,
    Disabled,
    /// Rules exist and none matched: the default variant.
    Default,
    Error,
}

/// OFREP error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    FlagNotFound,
    ParseError,
    TargetingKeyMissing,
    InvalidContext,
    TypeMismatch,
    General,
}

/// `{"context": {"targetingKey": …, …}}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EvaluationRequest {
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub context: Value,
}

/// A flag evaluated: OFREP's success shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EvaluationSuccess {
    pub key: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub value: Value,
    pub reason: Reason,
    pub variant: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub metadata: serde_json::Map<String, Value>,
}

/// OFREP's error shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct EvaluationFailure {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    pub error_code: ErrorCode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_details: Option<String>,
}

/// One flag of a bulk evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(untagged)]
pub enum Evaluated {
    Success(EvaluationSuccess),
    Failure(EvaluationFailure),
}

/// `POST /ofrep/v1/evaluate/flags`: every flag of the key's org.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BulkEvaluation {
    pub flags: Vec<Evaluated>,
}
