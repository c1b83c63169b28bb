//! `--set key.path=value`: changes to a scenario applied before it is validated, which is what
//! sweeps are built on. Paths are dotted keys; array elements are chosen by index
//! (`tenants.0.backend`) or by their `name` (`backends.api.concurrency`). Values are read as
//! TOML values (`5`, `0.25`, `true`, `"250ms"`, `{ dist = "exponential", mean = "1s" }`); a
//! value that is not valid TOML is taken as a string, so `--set gateway.retry.backoff=exponential`
//! needs no quotes.

use crate::error::ScenarioError;
use crate::locate::Segment;
use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
pub struct Override {
    /// The argument as given, for messages.
    pub text: String,
    pub path: Vec<String>,
    pub value: Value,
}

impl Override {
    pub fn parse(arg: &str) -> Result<Override, String> {
        let (path, raw) = arg.split_once('=').ok_or_else(|| {
            format!("`{arg}` is not an override; expected KEY.PATH=VALUE, like gateway.retry.max_attempts=3")
        })?;
        let path: Vec<String> = path
            .trim()
            .split('.')
            .map(|s| s.trim().to_string())
            .collect();
        if path.iter().any(String::is_empty) {
            return Err(format!(
                "`{arg}` has an empty key in its path; expected KEY.PATH=VALUE, like backends.api.concurrency=8"
            ));
        }
        Ok(Override {
            text: arg.to_string(),
            path,
            value: parse_value(raw.trim()),
        })
    }
}

fn parse_value(raw: &str) -> Value {
    // TOML integers stop at i64::MAX, but seeds are u64: `--seed` accepts the whole range.
    if let Ok(n) = raw.parse::<u64>() {
        return Value::from(n);
    }
    let doc = format!("v = {raw}");
    match toml::from_str::<toml::Table>(&doc) {
        Ok(mut table) => match table.remove("v") {
            Some(v) => serde_json::to_value(v).unwrap_or_else(|_| Value::String(raw.to_string())),
            None => Value::String(raw.to_string()),
        },
        Err(_) => Value::String(raw.to_string()),
    }
}

/// Applies each override in order; returns each one's path with names resolved to indices.
pub(crate) fn apply_overrides(
    tree: &mut Value,
    overrides: &[Override],
    origin: &str,
) -> Result<Vec<Vec<Segment>>, ScenarioError> {
    overrides
        .iter()
        .map(|o| {
            apply_one(tree, o).map_err(|message| ScenarioError {
                from_override: Some(o.text.clone()),
                ..ScenarioError::new(origin, message).with_path(o.path.join("."))
            })
        })
        .collect()
}

fn apply_one(tree: &mut Value, o: &Override) -> Result<Vec<Segment>, String> {
    let mut node = tree;
    let mut resolved = Vec::new();
    let last = o.path.len() - 1;
    for (depth, key) in o.path.iter().enumerate() {
        let here = o.path[..depth].join(".");
        node = match node {
            Value::Object(map) => {
                resolved.push(Segment::Key(key.clone()));
                if depth == last {
                    map.insert(key.clone(), o.value.clone());
                    return Ok(resolved);
                }
                map.entry(key.clone())
                    .or_insert_with(|| Value::Object(Default::default()))
            }
            Value::Array(items) => {
                let index = match key.parse::<usize>() {
                    Ok(i) if i < items.len() => i,
                    Ok(i) => {
                        return Err(format!(
                            "`{here}` has {} elements; index {i} is out of range",
                            items.len()
                        ));
                    }
                    Err(_) => items
                        .iter()
                        .position(|item| item.get("name").and_then(Value::as_str) == Some(key))
                        .ok_or_else(|| {
                            let names: Vec<&str> = items
                                .iter()
                                .filter_map(|i| i.get("name").and_then(Value::as_str))
                                .collect();
                            format!(
                                "`{here}` has no element named `{key}`; expected an index or one of: {}",
                                names.join(", ")
                            )
                        })?,
                };
                resolved.push(Segment::Index(index));
                if depth == last {
                    items[index] = o.value.clone();
                    return Ok(resolved);
                }
                &mut items[index]
            }
            _ => {
                return Err(format!(
                    "`{here}` is a single value, so it has no key `{key}`"
                ));
            }
        };
    }
    unreachable!("the loop returns at the last segment")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn seeds_beyond_toml_integers_are_numbers() {
        let o = Override::parse("seed=18446744073709551615").unwrap();
        assert_eq!(o.value, json!(u64::MAX));
    }

    #[test]
    fn values_are_read_as_toml_or_else_as_strings() {
        assert_eq!(Override::parse("a=5").unwrap().value, json!(5));
        assert_eq!(Override::parse("a=0.5").unwrap().value, json!(0.5));
        assert_eq!(
            Override::parse("a=\"250ms\"").unwrap().value,
            json!("250ms")
        );
        assert_eq!(Override::parse("a=250ms").unwrap().value, json!("250ms"));
        assert_eq!(
            Override::parse("a=exponential").unwrap().value,
            json!("exponential")
        );
        assert_eq!(
            Override::parse("a={ dist = \"exponential\", mean = \"1s\" }")
                .unwrap()
                .value,
            json!({"dist": "exponential", "mean": "1s"})
        );
        assert!(Override::parse("novalue").is_err());
        assert!(Override::parse("a..b=1").is_err());
    }

    #[test]
    fn paths_reach_keys_indices_and_names() {
        let mut tree = json!({
            "backends": [{"name": "api", "concurrency": 1}],
            "gateway": {}
        });
        let os = [
            Override::parse("backends.api.concurrency=8").unwrap(),
            Override::parse("gateway.retry.max_attempts=3").unwrap(),
            Override::parse("backends.0.name=gpu").unwrap(),
        ];
        let resolved = apply_overrides(&mut tree, &os, "t").unwrap();
        assert_eq!(tree["backends"][0]["concurrency"], json!(8));
        assert_eq!(tree["gateway"]["retry"]["max_attempts"], json!(3));
        assert_eq!(tree["backends"][0]["name"], json!("gpu"));
        assert_eq!(
            resolved[0],
            vec![
                Segment::Key("backends".into()),
                Segment::Index(0),
                Segment::Key("concurrency".into())
            ]
        );
        let err = apply_overrides(
            &mut tree,
            &[Override::parse("backends.nope.x=1").unwrap()],
            "t",
        )
        .unwrap_err();
        assert!(
            err.message.contains("no element named `nope`"),
            "{}",
            err.message
        );
        assert_eq!(err.from_override.as_deref(), Some("backends.nope.x=1"));
    }
}
