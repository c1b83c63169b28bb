//! The JSON Schema (draft 2020-12) of the scenario format, for editors: derived with `schemars`
//! from the very serde types that parse a scenario (`#[derive(JsonSchema)]` beside each
//! `Deserialize`), so the schema cannot drift from the reader. Doc comments become
//! descriptions, serde defaults become `default`, `deny_unknown_fields` becomes
//! `additionalProperties: false`.
//!
//! The few value types that parse themselves (durations, rates, ranged numbers, limits,
//! objectives) state their schema by hand here, next to nothing else: each says what its
//! `Deserialize` accepts. (The outcome names of SLO filters are stated beside the SLO types,
//! in `sections::slos`.) The schema may be looser than the reader (a duration's unit is
//! checked by name only when the file is loaded), never stricter: every built-in example
//! validates (`tests/schema.rs`).

use crate::schema::Scenario;
use crate::sections::slos::{BurnFactor, ObjectiveValue, Ratio};
use crate::values::{Duration, Limit, NonNegative, Positive, Probability, RateValue};
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use sim_core::time::duration_unit_names;
use std::borrow::Cow;

/// The JSON Schema of a scenario file (TOML or JSON), as pretty-printed JSON with a final
/// newline.
pub fn json_schema() -> String {
    let mut schema = schemars::generate::SchemaSettings::draft2020_12()
        .into_generator()
        .into_root_schema_for::<Scenario>();
    schema.insert("title".into(), "faultline scenario".into());
    let mut text = serde_json::to_string_pretty(&schema).expect("a schema serializes");
    text.push('\n');
    text
}

/// A schema for a value written as a string in one syntax.
fn string_schema(description: &str, pattern: &str, examples: &[&str]) -> Schema {
    json_schema!({
        "type": "string",
        "pattern": pattern,
        "description": description,
        "examples": examples,
    })
}

impl JsonSchema for Duration {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        "Duration".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "pattern": duration_pattern(),
            "description": format!(
                "A duration: numbers each followed by a unit ({}), like \"250ms\" or \"1h30m\"",
                duration_unit_names().collect::<Vec<_>>().join(", ")
            ),
            "examples": ["250ms", "4h", "1h30m"],
        })
    }
}

/// Numbers (with an optional fraction), each followed by one of the units the reader knows,
/// longest first so that `ms` is not read as `m` then a stray `s`.
fn duration_pattern() -> String {
    let mut units: Vec<&str> = duration_unit_names().collect();
    units.sort_by_key(|u| std::cmp::Reverse(u.chars().count()));
    format!(
        r"^\s*(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)\s*(?:{})\s*)+$",
        units.join("|")
    )
}

impl JsonSchema for RateValue {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        "Rate".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        string_schema(
            "A positive rate: a count per unit of time, like \"20/s\", \"1200/min\" or \"3/2h\"",
            r"^\s*[0-9.eE+-]+\s*/\s*\S+\s*$",
            &["20/s", "1200/min"],
        )
    }
}

impl JsonSchema for Probability {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        "Probability".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "number", "minimum": 0, "maximum": 1 })
    }
}

impl JsonSchema for Positive {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        "Positive".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "number", "exclusiveMinimum": 0 })
    }
}

impl JsonSchema for NonNegative {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        "NonNegative".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "number", "minimum": 0 })
    }
}

impl<const MIN: u32> JsonSchema for Limit<MIN> {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        format!("Limit{MIN}").into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "anyOf": [
                { "type": "integer", "minimum": MIN, "maximum": u32::MAX - 1 },
                { "const": "unlimited" }
            ]
        })
    }
}

impl JsonSchema for ObjectiveValue {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        "Objective".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A target: a percentage string like \"99.9\" or \"99.9%\", or a \
                            fraction like 0.999",
            "anyOf": [
                { "type": "string", "pattern": r"^\s*[0-9.]+\s*%?\s*$" },
                { "type": "number", "minimum": 0, "maximum": 1 }
            ]
        })
    }
}

impl JsonSchema for Ratio {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        "Ratio".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "number", "exclusiveMinimum": 0, "maximum": 1 })
    }
}

impl JsonSchema for BurnFactor {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        "BurnFactor".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "number",
            "exclusiveMinimum": 0,
            "maximum": policies::burn_rate::MAX_FACTOR as f64 / policies::burn_rate::BURN_UNIT as f64
        })
    }
}
