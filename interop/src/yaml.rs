//! YAML as a tree of values that remember where they were written (serde-saphyr's `Spanned`),
//! and errors that name `file:line:col` and the key path, like scenario errors.

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use std::fmt;

/// One YAML value and its position (1-based line and column).
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub line: u64,
    pub col: u64,
    pub value: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    /// In the order written.
    Map(Vec<(String, Node)>),
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = serde_saphyr::Spanned::<Value>::deserialize(d)?;
        Ok(Node {
            line: s.referenced.line(),
            col: s.referenced.column(),
            value: s.value,
        })
    }
}

struct AnyValue;

impl<'de> Visitor<'de> for AnyValue {
    type Value = Value;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        i64::try_from(v)
            .map(Value::Int)
            .or(Ok(Value::Float(v as f64)))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Float(v))
    }
    fn visit_str<E>(self, s: &str) -> Result<Value, E> {
        Ok(Value::Str(s.to_string()))
    }
    fn visit_string<E>(self, s: String) -> Result<Value, E> {
        Ok(Value::Str(s))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Value, A::Error> {
        let mut v = Vec::new();
        while let Some(n) = a.next_element::<Node>()? {
            v.push(n);
        }
        Ok(Value::Seq(v))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Value, A::Error> {
        let mut v: Vec<(String, Node)> = Vec::new();
        while let Some((k, n)) = a.next_entry::<KeyText, Node>()? {
            v.push((k.0, n));
        }
        Ok(Value::Map(v))
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(AnyValue)
    }
}

/// A mapping key as text (YAML allows `1: x` or `true: y`; they are names here).
struct KeyText(String);

impl<'de> Deserialize<'de> for KeyText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(KeyText(match Value::deserialize(d)? {
            Value::Str(s) => s,
            Value::Int(i) => i.to_string(),
            Value::Float(f) => f.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Null => "null".to_string(),
            _ => return Err(de::Error::custom("a mapping key must be a scalar")),
        }))
    }
}

/// A bad imported file: where, which key, and what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportError {
    pub file: String,
    /// 0 when the error concerns no position (the file could not be read).
    pub line: u64,
    pub col: u64,
    /// The key path (`router_settings.fallbacks[0]`), empty for syntax errors.
    pub path: String,
    pub message: String,
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match (self.line, self.path.is_empty()) {
            (0, _) => write!(f, "{}: {}", self.file, self.message),
            (_, true) => write!(
                f,
                "{}:{}:{}: {}",
                self.file, self.line, self.col, self.message
            ),
            _ => write!(
                f,
                "{}:{}:{}: at `{}`: {}",
                self.file, self.line, self.col, self.path, self.message
            ),
        }
    }
}

impl std::error::Error for ImportError {}

/// Parses every document of a YAML file (OpenSLO files hold several, split by `---`).
pub fn parse_documents(file: &str, text: &str) -> Result<Vec<Node>, ImportError> {
    serde_saphyr::from_multiple::<Node>(text).map_err(|e| syntax(file, &e))
}

/// Parses a one-document YAML file.
pub fn parse(file: &str, text: &str) -> Result<Node, ImportError> {
    let docs = parse_documents(file, text)?;
    let n = docs.len();
    match docs.into_iter().next() {
        Some(d) if n == 1 => Ok(d),
        Some(_) => Err(ImportError {
            file: file.to_string(),
            line: 0,
            col: 0,
            path: String::new(),
            message: format!("expected one YAML document, found {n}"),
        }),
        None => Err(ImportError {
            file: file.to_string(),
            line: 0,
            col: 0,
            path: String::new(),
            message: "the file holds no YAML document".to_string(),
        }),
    }
}

fn syntax(file: &str, e: &serde_saphyr::Error) -> ImportError {
    let (line, col) = e
        .location()
        .map_or((1, 1), |l| (l.line().max(1), l.column().max(1)));
    // The crate's message starts with its own position and may add a snippet: keep the
    // first line, without the position.
    let text = e.to_string();
    let first = text
        .lines()
        .next()
        .unwrap_or("")
        .trim_start_matches("error: ");
    let message = match first.split_once(": ") {
        Some((pos, rest)) if pos.starts_with("line ") => rest.to_string(),
        _ => first.to_string(),
    };
    ImportError {
        file: file.to_string(),
        line,
        col,
        path: String::new(),
        message: format!("invalid YAML: {message}"),
    }
}

/// A node with its key path, for reading a document and reporting errors and warnings.
#[derive(Clone)]
pub struct At<'a> {
    pub file: &'a str,
    pub node: &'a Node,
    path: String,
}

impl<'a> At<'a> {
    pub fn root(file: &'a str, node: &'a Node) -> At<'a> {
        At {
            file,
            node,
            path: String::new(),
        }
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    fn child(&self, node: &'a Node, path: String) -> At<'a> {
        At {
            file: self.file,
            node,
            path,
        }
    }

    pub fn error(&self, message: impl Into<String>) -> ImportError {
        ImportError {
            file: self.file.to_string(),
            line: self.node.line,
            col: self.node.col,
            path: if self.path.is_empty() {
                "(document)".to_string()
            } else {
                self.path.clone()
            },
            message: message.into(),
        }
    }

    /// A warning about this key, placed like an error.
    pub fn warning(&self, message: impl AsRef<str>) -> String {
        format!(
            "warning: {}:{}:{}: at `{}`: {}",
            self.file,
            self.node.line,
            self.node.col,
            self.path,
            message.as_ref()
        )
    }

    pub fn is_null(&self) -> bool {
        self.node.value == Value::Null
    }

    /// The entries of a mapping, each with its path (`base.key`).
    pub fn entries(&self) -> Result<Vec<(&'a str, At<'a>)>, ImportError> {
        match &self.node.value {
            Value::Map(m) => Ok(m
                .iter()
                .map(|(k, n)| {
                    let p = if self.path.is_empty() {
                        k.clone()
                    } else {
                        format!("{}.{k}", self.path)
                    };
                    (k.as_str(), self.child(n, p))
                })
                .collect()),
            Value::Null => Ok(Vec::new()),
            _ => Err(self.error(format!("expected a mapping, found {}", self.found()))),
        }
    }

    /// The items of a sequence, each with its path (`base[i]`).
    pub fn items(&self) -> Result<Vec<At<'a>>, ImportError> {
        match &self.node.value {
            Value::Seq(s) => Ok(s
                .iter()
                .enumerate()
                .map(|(i, n)| self.child(n, format!("{}[{i}]", self.path)))
                .collect()),
            Value::Null => Ok(Vec::new()),
            _ => Err(self.error(format!("expected a list, found {}", self.found()))),
        }
    }

    pub fn get(&self, key: &str) -> Result<Option<At<'a>>, ImportError> {
        Ok(self
            .entries()?
            .into_iter()
            .find(|(k, _)| *k == key)
            .map(|(_, a)| a))
    }

    pub fn str(&self) -> Result<&'a str, ImportError> {
        match &self.node.value {
            Value::Str(s) => Ok(s),
            _ => Err(self.error(format!("expected a string, found {}", self.found()))),
        }
    }

    /// A number; strings holding a number are accepted (LiteLLM configs often quote them).
    pub fn f64(&self) -> Result<f64, ImportError> {
        let x = match &self.node.value {
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            Value::Str(s) => s.trim().parse::<f64>().ok(),
            _ => None,
        };
        match x {
            Some(x) if x.is_finite() => Ok(x),
            _ => Err(self.error(format!("expected a number, found {}", self.found()))),
        }
    }

    pub fn u64(&self) -> Result<u64, ImportError> {
        let x = self.f64()?;
        if x < 0.0 || x.fract() != 0.0 || x > 1e15 {
            return Err(self.error(format!(
                "expected a whole number of at least 0, found {}",
                self.found()
            )));
        }
        Ok(x as u64)
    }

    pub fn bool(&self) -> Result<bool, ImportError> {
        match &self.node.value {
            Value::Bool(b) => Ok(*b),
            Value::Str(s) if s == "true" || s == "True" => Ok(true),
            Value::Str(s) if s == "false" || s == "False" => Ok(false),
            _ => Err(self.error(format!("expected true or false, found {}", self.found()))),
        }
    }

    /// What the value is, for messages.
    pub fn found(&self) -> String {
        match &self.node.value {
            Value::Null => "nothing (null)".to_string(),
            Value::Bool(b) => format!("`{b}`"),
            Value::Int(i) => format!("`{i}`"),
            Value::Float(f) => format!("`{f}`"),
            Value::Str(s) => format!("\"{s}\""),
            Value::Seq(_) => "a list".to_string(),
            Value::Map(_) => "a mapping".to_string(),
        }
    }
}
