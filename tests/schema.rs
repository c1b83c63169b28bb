//! `faultline schema`: the JSON Schema of the scenario format, checked with a real validator
//! (boon, draft 2020-12). Every built-in example validates, as written and in canonical form
//! (every default filled in, as report.json embeds it); keys the reader rejects are rejected by
//! the schema too.

mod common;
use common::faultline;
use serde_json::{Value, json};

/// The schema `faultline schema` prints, compiled.
fn compiled() -> (boon::Schemas, boon::SchemaIndex, Value) {
    let out = faultline(&["schema"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let schema: Value = serde_json::from_slice(&out.stdout).expect("the schema is JSON");
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    compiler
        .add_resource("faultline.schema.json", schema.clone())
        .unwrap();
    let index = compiler
        .compile("faultline.schema.json", &mut schemas)
        .unwrap_or_else(|e| panic!("the schema compiles: {e:#}"));
    (schemas, index, schema)
}

/// A TOML scenario as the JSON value an editor's schema check sees.
fn toml_to_json(text: &str) -> Value {
    let value: toml::Value = toml::from_str(text).expect("TOML");
    serde_json::to_value(value).unwrap()
}

fn validate(
    schemas: &boon::Schemas,
    index: boon::SchemaIndex,
    value: &Value,
) -> Result<(), String> {
    schemas.validate(value, index).map_err(|e| format!("{e}"))
}

#[test]
fn the_schema_is_draft_2020_12_with_descriptions_defaults_and_closed_objects() {
    let (_, _, schema) = compiled();
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    let props = &schema["properties"];
    assert_eq!(schema["additionalProperties"], false, "deny_unknown_fields");
    assert_eq!(props["seed"]["default"], 1);
    assert_eq!(props["replications"]["default"], 10);
    assert_eq!(props["warmup"]["default"], "0s");
    assert!(
        props["horizon"]["description"]
            .as_str()
            .unwrap()
            .contains("Virtual time simulated"),
        "doc comments become descriptions"
    );
    let required: Vec<&str> = schema["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for key in ["horizon", "tenants", "backends"] {
        assert!(required.contains(&key), "{key} is required: {required:?}");
    }
    assert!(!required.contains(&"seed"), "seed has a default");
}

#[test]
fn every_built_in_example_validates_as_written_and_canonical() {
    let (schemas, index, _) = compiled();
    let mut checked = 0;
    for example in scenarios::examples::ALL {
        let written = toml_to_json(example.toml);
        validate(&schemas, index, &written)
            .unwrap_or_else(|e| panic!("example:{} as written: {e}", example.name));
        let source = scenarios::Source::example(example.name).unwrap();
        let loaded = scenarios::load(&source, &[]).unwrap();
        let canonical = scenarios::canonical_json(&loaded.scenario);
        validate(&schemas, index, &canonical)
            .unwrap_or_else(|e| panic!("example:{} canonical: {e}", example.name));
        checked += 1;
    }
    assert!(checked >= 20, "{checked} examples");
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/small.json");
    let json: Value = serde_json::from_str(&std::fs::read_to_string(fixture).unwrap()).unwrap();
    validate(&schemas, index, &json).expect("the JSON fixture validates");
}

/// Applies `edit` to the quickstart example; the result must fail both the schema and the
/// reader.
fn assert_rejected(edit: impl FnOnce(&mut Value), what: &str) {
    let (schemas, index, _) = compiled();
    let mut value = toml_to_json(scenarios::examples::find("quickstart").unwrap().toml);
    edit(&mut value);
    let why = validate(&schemas, index, &value)
        .err()
        .unwrap_or_else(|| panic!("the schema accepts {what}"));
    let text = serde_json::to_string_pretty(&value).unwrap();
    let source =
        scenarios::Source::from_text("edited.json", "edited", text, scenarios::Format::Json);
    assert!(
        scenarios::load(&source, &[]).is_err(),
        "the reader accepts {what}; the schema said: {why}"
    );
}

#[test]
fn a_typod_key_is_caught_by_the_schema() {
    assert_rejected(
        |v| {
            let retry = v["gateway"]["retry"]
                .as_object_mut()
                .expect("a retry table");
            let attempts = retry.remove("max_attempts").unwrap();
            retry.insert("max_atempts".into(), attempts);
        },
        "gateway.retry.max_atempts",
    );
    assert_rejected(
        |v| {
            v["gateway"]
                .as_object_mut()
                .unwrap()
                .insert("retyr".into(), json!({ "max_attempts": 3 }));
        },
        "gateway.retyr",
    );
    assert_rejected(
        |v| {
            v.as_object_mut()
                .unwrap()
                .insert("horizn".into(), json!("1h"));
        },
        "a top-level horizn",
    );
}

#[test]
fn wrong_values_are_caught_by_the_schema() {
    assert_rejected(|v| v["horizon"] = json!(3600), "a horizon without a unit");
    assert_rejected(|v| v["horizon"] = json!("an hour"), "a horizon in words");
    assert_rejected(
        |v| v["horizon"] = json!("2hrs"),
        "a horizon in an unknown unit",
    );
    assert_rejected(|v| v["warmup"] = json!("5"), "a warm-up without a unit");
    assert_rejected(|v| v["replications"] = json!(-1), "negative replications");
    assert_rejected(
        |v| v["tenants"][0]["arrivals"]["process"] = json!("poison"),
        "an unknown arrival process",
    );
    assert_rejected(|v| v["tenants"] = json!("chat"), "tenants as a string");
}

#[test]
fn a_json_file_may_name_its_schema() {
    let (schemas, index, _) = compiled();
    let mut value = toml_to_json(scenarios::examples::find("quickstart").unwrap().toml);
    value
        .as_object_mut()
        .unwrap()
        .insert("$schema".into(), json!("./faultline.schema.json"));
    validate(&schemas, index, &value).expect("the schema allows `$schema`");
    let text = serde_json::to_string_pretty(&value).unwrap();
    let source = scenarios::Source::from_text("q.json", "q", text, scenarios::Format::Json);
    let loaded = scenarios::load(&source, &[]).expect("the reader allows `$schema`");
    let canonical = scenarios::canonical_json(&loaded.scenario);
    assert!(
        canonical.get("$schema").is_none(),
        "no result depends on it"
    );
    let plain = scenarios::load(&scenarios::Source::example("quickstart").unwrap(), &[]).unwrap();
    assert_eq!(canonical, scenarios::canonical_json(&plain.scenario));
}
