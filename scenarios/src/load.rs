//! Reading a scenario: text → (overrides) → typed schema → validated world, with every error
//! pointing at file, line, column and key path.

use crate::build::build_world;
use crate::error::ScenarioError;
use crate::examples;
use crate::locate::{FOUND, Locate, Segment, parse_path};
use crate::overrides::{Override, apply_overrides};
use crate::schema::Scenario;
use models::WorldConfig;
use serde::de::DeserializeSeed;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Toml,
    Json,
}

/// Scenario text and where it came from.
#[derive(Debug, Clone)]
pub struct Source {
    /// File path or `example:NAME`, used in messages.
    pub origin: String,
    /// A short name for output directories: the file stem or the example name.
    pub name: String,
    pub text: String,
    pub format: Format,
    /// The directory relative paths inside the text resolve against: the scenario file's own
    /// directory (canonical, so it does not depend on how the file was named); `None` for
    /// built-in examples and scenarios held in memory, whose relative paths resolve against the
    /// current directory.
    pub base_dir: Option<PathBuf>,
}

impl Source {
    /// Reads `spec`: a path, or `example:NAME` for a built-in example.
    pub fn open(spec: &str) -> Result<Source, ScenarioError> {
        if let Some(name) = spec.strip_prefix("example:") {
            return Source::example(name);
        }
        let path = Path::new(spec);
        let bytes = std::fs::read(path)
            .map_err(|e| ScenarioError::new(spec, format!("cannot read the scenario file: {e}")))?;
        let format = match path.extension().and_then(|e| e.to_str()) {
            Some("json") => Format::Json,
            Some("toml") => Format::Toml,
            _ => sniff_format(&bytes),
        };
        let text = String::from_utf8(bytes).map_err(|e| {
            let offset = e.utf8_error().valid_up_to();
            let valid = String::from_utf8_lossy(&e.as_bytes()[..offset]).into_owned();
            ScenarioError::new(
                spec,
                format!(
                    "the file is not UTF-8 text (invalid byte 0x{:02x} at byte {offset}); \
                     expected a TOML or JSON scenario",
                    e.as_bytes()[offset]
                ),
            )
            .at_offset(&valid, offset)
        })?;
        let name = output_name(path.file_stem().and_then(|s| s.to_str()).unwrap_or(""));
        let base_dir = std::fs::canonicalize(path)
            .ok()
            .and_then(|p| p.parent().map(Path::to_path_buf));
        Ok(Source {
            origin: spec.to_string(),
            name,
            text,
            format,
            base_dir,
        })
    }

    pub fn example(name: &str) -> Result<Source, ScenarioError> {
        let example = examples::find(name).ok_or_else(|| {
            ScenarioError::new(
                &format!("example:{name}"),
                format!(
                    "no built-in example named `{name}`; the examples are: {}",
                    examples::ALL
                        .iter()
                        .map(|e| e.name)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })?;
        Ok(Source {
            origin: format!("example:{name}"),
            name: name.to_string(),
            text: example.toml.to_string(),
            format: Format::Toml,
            base_dir: None,
        })
    }

    /// Scenario text held in memory (reports embed their scenario as JSON).
    pub fn from_text(origin: &str, name: &str, text: String, format: Format) -> Source {
        Source {
            origin: origin.to_string(),
            name: name.to_string(),
            text,
            format,
            base_dir: None,
        }
    }
}

/// A file stem made safe as one directory name for default outputs: characters other than
/// letters, digits, `-`, `_` and `.` become `_`, and a name of dots only (the stem of
/// `...toml` is `..`) or an empty one becomes `scenario`.
pub fn output_name(stem: &str) -> String {
    let name: String = stem
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if name.chars().all(|c| c == '.') {
        "scenario".to_string()
    } else {
        name
    }
}

fn sniff_format(bytes: &[u8]) -> Format {
    match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => Format::Json,
        _ => Format::Toml,
    }
}

/// A scenario that passed every check, and the world built from it.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub scenario: Scenario,
    pub world: WorldConfig,
    /// Things that are valid but probably not meant, each naming its place (print them).
    pub warnings: Vec<String>,
}

/// Reads, overrides, validates and builds. `overrides` are applied in order, before validation.
pub fn load(source: &Source, overrides: &[Override]) -> Result<Loaded, ScenarioError> {
    let (scenario, resolved) = if overrides.is_empty() {
        (read_typed(source)?, Vec::new())
    } else {
        let mut tree = read_tree(source)?;
        let resolved = apply_overrides(&mut tree, overrides, &source.origin)?;
        let scenario = serde_path_to_error::deserialize(&tree).map_err(|e| {
            let path = normalize_root(&e.path().to_string());
            let err = ScenarioError::new(&source.origin, clean_message(&e.inner().to_string()));
            attribute(source, err, &path, overrides, &resolved)
        })?;
        (scenario, resolved)
    };
    let mut scenario = scenario;
    resolve_paths(&mut scenario, source.base_dir.as_deref(), &resolved);
    let world = build_world(&scenario).map_err(|e| {
        let err = ScenarioError::new(&source.origin, e.message);
        attribute(source, err, &e.path, overrides, &resolved)
    })?;
    let warnings = warnings(source, &world, overrides, &resolved);
    Ok(Loaded {
        scenario,
        world,
        warnings,
    })
}

/// Latencies whose median is longer than the whole run: valid, but most calls would never
/// finish, which is rarely what was meant (a `mu` in milliseconds where seconds were meant).
fn warnings(
    source: &Source,
    world: &WorldConfig,
    overrides: &[Override],
    resolved: &[Vec<Segment>],
) -> Vec<String> {
    use models::config::ServiceModel;
    let mut out = Vec::new();
    let horizon = world.horizon;
    for (i, b) in world.backends.iter().enumerate() {
        let (key, sampler) = match &b.service {
            ServiceModel::Duration(s) => ("service", s),
            ServiceModel::Tokens { ttft, .. } => ("ttft", ttft),
        };
        let median = sampler.median();
        if median.is_finite() && median <= horizon as f64 {
            continue;
        }
        let secs = median / 1e9;
        let shown = if !secs.is_finite() {
            "infinite".to_string()
        } else if secs >= 86_400.0 {
            format!("{:.1} days", secs / 86_400.0)
        } else if secs >= 3_600.0 {
            format!("{:.1} h", secs / 3_600.0)
        } else {
            format!("{secs:.1} s")
        };
        let err = ScenarioError::new(
            &source.origin,
            format!(
                "the median of this distribution ({shown}) is longer than the run ({}): most \
                 calls to backend `{}` will not finish before the horizon",
                sim_core::time::format_duration(horizon),
                b.name
            ),
        );
        let e = attribute(
            source,
            err,
            &format!("backends[{i}].{key}"),
            overrides,
            resolved,
        );
        out.push(format!("warning: {e}"));
    }
    out
}

/// Makes every relative file path in the scenario absolute, so the canonical scenario in a
/// report names the file that was read and reruns from anywhere: a path written in the scenario
/// file resolves against the file's directory, a path given with `--set` (or in a scenario
/// without a file) against the current directory. `builtin:` paths name data embedded in the
/// binary and stay as they are.
fn resolve_paths(scenario: &mut Scenario, base_dir: Option<&Path>, resolved: &[Vec<Segment>]) {
    let key = |k: &str| Segment::Key(k.to_string());
    let mut paths: Vec<(Vec<Segment>, &mut String)> = Vec::new();
    for (i, tenant) in scenario.tenants.iter_mut().enumerate() {
        if let crate::sections::arrivals::Arrivals::Trace { path, .. } = &mut tenant.arrivals {
            let here = vec![
                key("tenants"),
                Segment::Index(i),
                key("arrivals"),
                key("path"),
            ];
            paths.push((here, path));
        }
    }
    for (i, backend) in scenario.backends.iter_mut().enumerate() {
        let Some(pool) = &mut backend.gpu_pool else {
            continue;
        };
        let at = |keys: &[&str]| {
            let mut here = vec![key("backends"), Segment::Index(i), key("gpu_pool")];
            here.extend(keys.iter().map(|k| key(k)));
            here
        };
        if let Some(crate::sections::gpu_pool::PoolModel::Config { config }) = &mut pool.model {
            paths.push((at(&["model", "config"]), config));
        }
        if let Some(preset) = &mut pool.calibration {
            paths.push((at(&["calibration"]), preset));
        }
    }
    for (here, path) in paths {
        if path.starts_with(crate::builtin_data::PREFIX) || Path::new(path.as_str()).is_absolute() {
            continue;
        }
        let from_override = resolved
            .iter()
            .any(|p| p.len() <= here.len() && here[..p.len()] == p[..]);
        let base = match (from_override, base_dir) {
            (false, Some(dir)) => Some(dir.to_path_buf()),
            _ => std::env::current_dir().ok(),
        };
        if let Some(base) = base {
            let joined = base.join(path.as_str());
            let shown = std::fs::canonicalize(&joined).unwrap_or(joined);
            *path = shown.display().to_string();
        }
    }
}

/// Blames the `--set` argument that wrote the value at `path`, if one did (the last such wins,
/// as it is the value that was read); otherwise points into the file.
fn attribute(
    source: &Source,
    err: ScenarioError,
    path: &str,
    overrides: &[Override],
    resolved: &[Vec<Segment>],
) -> ScenarioError {
    let segments = parse_path(path);
    // The override wrote the value at fault, or inside it (an unknown key it added, a table
    // whose field it set): either path is a prefix of the other.
    let related = |p: &[Segment]| {
        let n = p.len().min(segments.len());
        n > 0 && segments[..n] == p[..n]
    };
    let culprit = resolved
        .iter()
        .zip(overrides)
        .rev()
        .find(|(p, _)| related(p));
    match culprit {
        Some((_, o)) => ScenarioError {
            from_override: Some(o.text.clone()),
            ..err.with_path(path)
        },
        // A rule between fields (a warm-up longer than the horizon) can be broken by an
        // override of another field: the file's line is shown, and the overrides named.
        None if !overrides.is_empty() => {
            let mut err = locate(source, err, path);
            let args: Vec<String> = overrides
                .iter()
                .map(|o| format!("--set {}", o.text))
                .collect();
            err.message = format!(
                "{} (in the scenario as changed by {})",
                err.message,
                args.join(" ")
            );
            err
        }
        None => locate(source, err, path),
    }
}

/// Strips the position the format appends to its messages (we print our own).
fn clean_message(message: &str) -> String {
    let first = message.lines().next().unwrap_or(message);
    match first.rfind(" at line ") {
        Some(i) if first[i..].contains(" column ") => first[..i].to_string(),
        _ => first.to_string(),
    }
}

/// Deserializes straight from the text, so the format's reader supplies exact positions.
fn read_typed(source: &Source) -> Result<Scenario, ScenarioError> {
    let origin = &source.origin;
    match source.format {
        Format::Toml => {
            let de =
                toml::Deserializer::parse(&source.text).map_err(|e| toml_error(source, &e, ""))?;
            serde_path_to_error::deserialize(de).map_err(|e| {
                let path = e.path().to_string();
                toml_error(source, e.inner(), &normalize_root(&path))
            })
        }
        Format::Json => {
            require_json_object(source)?;
            let mut de = serde_json::Deserializer::from_str(&source.text);
            let result: Result<Scenario, _> = serde_path_to_error::deserialize(&mut de);
            let scenario = result.map_err(|e| {
                let path = normalize_root(&e.path().to_string());
                json_error(source, e.inner(), &path)
            })?;
            de.end().map_err(|e| json_error(source, &e, ""))?;
            let _ = origin;
            Ok(scenario)
        }
    }
}

fn normalize_root(path: &str) -> String {
    if path == "." {
        String::new()
    } else {
        path.to_string()
    }
}

fn toml_error(source: &Source, e: &toml::de::Error, path: &str) -> ScenarioError {
    let err = ScenarioError::new(&source.origin, clean_message(e.message())).with_path(path);
    match e.span() {
        Some(span) => err.at_offset(&source.text, span.start),
        None if !path.is_empty() => locate(source, err, path),
        None => err.at_line_column(&source.text, 1, 1),
    }
}

fn json_error(source: &Source, e: &serde_json::Error, path: &str) -> ScenarioError {
    let mut message = clean_message(&e.to_string());
    if e.is_eof() && source.text.trim().is_empty() {
        message = "the file is empty; expected a JSON object describing a scenario".to_string();
    }
    ScenarioError::new(&source.origin, message)
        .with_path(path)
        .at_line_column(&source.text, e.line(), e.column())
}

/// Parses the text into a format-neutral tree for overrides.
fn read_tree(source: &Source) -> Result<serde_json::Value, ScenarioError> {
    match source.format {
        Format::Toml => {
            let table: toml::Table =
                toml::from_str(&source.text).map_err(|e| toml_error(source, &e, ""))?;
            serde_json::to_value(table)
                .map_err(|e| ScenarioError::new(&source.origin, e.to_string()))
        }
        Format::Json => {
            require_json_object(source)?;
            serde_json::from_str(&source.text).map_err(|e| json_error(source, &e, ""))
        }
    }
}

/// A JSON scenario is one object: serde would otherwise read a struct from an array of its
/// fields' values, in order, without a single key.
fn require_json_object(source: &Source) -> Result<(), ScenarioError> {
    let text = &source.text;
    match text.char_indices().find(|(_, c)| !c.is_whitespace()) {
        None | Some((_, '{')) => Ok(()),
        Some((offset, c)) => Err(ScenarioError::new(
            &source.origin,
            format!("expected a JSON object (`{{ ... }}`) describing a scenario, found `{c}`"),
        )
        .at_offset(text, offset)),
    }
}

/// Adds the position of `path` (or of its nearest present ancestor) to `err`.
fn locate(source: &Source, err: ScenarioError, path: &str) -> ScenarioError {
    let err = err.with_path(path);
    let segments = parse_path(path);
    for depth in (0..=segments.len()).rev() {
        let prefix = &segments[..depth];
        if let Some(located) = locate_segments(source, &err, prefix) {
            return located;
        }
    }
    err.at_line_column(&source.text, 1, 1)
}

fn locate_segments(
    source: &Source,
    err: &ScenarioError,
    path: &[Segment],
) -> Option<ScenarioError> {
    if path.is_empty() {
        return Some(err.clone().at_line_column(&source.text, 1, 1));
    }
    let seed = Locate { path };
    match source.format {
        Format::Toml => {
            let de = toml::Deserializer::parse(&source.text).ok()?;
            match seed.deserialize(de) {
                Err(e) if e.message() == FOUND => {
                    let span = e.span()?;
                    Some(err.clone().at_offset(&source.text, span.start))
                }
                _ => None,
            }
        }
        Format::Json => {
            let mut de = serde_json::Deserializer::from_str(&source.text);
            match seed.deserialize(&mut de) {
                Err(e) if e.to_string().starts_with(FOUND) => Some(err.clone().at_line_column(
                    &source.text,
                    e.line(),
                    e.column(),
                )),
                _ => None,
            }
        }
    }
}

/// Serializes the scenario as canonical JSON: every default filled in, every unit normalised.
/// Reports embed this, and reruns read it back.
pub fn canonical_json(scenario: &Scenario) -> serde_json::Value {
    serde_json::to_value(scenario).expect("scenarios always serialize")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_names_are_one_plain_directory() {
        assert_eq!(output_name("my-scenario"), "my-scenario");
        assert_eq!(output_name(".."), "scenario");
        assert_eq!(output_name("."), "scenario");
        assert_eq!(output_name(""), "scenario");
        assert_eq!(output_name("a b/c"), "a_b_c");
        assert_eq!(output_name("v1.2"), "v1.2");
    }
}
