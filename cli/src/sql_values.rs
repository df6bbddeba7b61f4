//! SQL values on the command line: parameters in, rows out (as a table or JSON).

use serde_json::{Value as Json, json};
use sqlite_runtime::{Row, Value};

use crate::hex::{BytesArgs, encode};

/// Parsed `--param`s: positional, or named (`:name=VALUE`, `$name=VALUE`).
#[derive(Debug, Default)]
pub struct SqlParams {
    positional: Vec<Value>,
    named: Vec<(String, Value)>,
}

impl SqlParams {
    /// Parses every `--param`; positional and named ones cannot be mixed.
    pub fn parse(params: &[String]) -> Result<Self, String> {
        let mut bytes = BytesArgs::default();
        let mut parsed = SqlParams::default();
        for param in params {
            let named = param
                .starts_with([':', '$'])
                .then(|| param.split_once('='))
                .flatten();
            match named {
                Some((name, value)) => parsed
                    .named
                    .push((name.to_owned(), value_of(&mut bytes, value)?)),
                None => parsed.positional.push(value_of(&mut bytes, param)?),
            }
        }
        if !parsed.positional.is_empty() && !parsed.named.is_empty() {
            return Err("--param: use positional or named parameters, not both".to_owned());
        }
        Ok(parsed)
    }

    /// Calls `f` with the parameters borrowed.
    pub fn with<R>(&self, f: impl FnOnce(sqlite_runtime::Params<'_>) -> R) -> R {
        if self.named.is_empty() {
            let values: Vec<_> = self.positional.iter().map(Value::as_ref).collect();
            f(sqlite_runtime::Params::Positional(&values))
        } else {
            let values: Vec<_> = self
                .named
                .iter()
                .map(|(name, value)| (name.as_str(), value.as_ref()))
                .collect();
            f(sqlite_runtime::Params::Named(&values))
        }
    }
}

/// One parameter value: `null`, `int:N`, `real:X`, or what `kv` takes (text; `hex:` and
/// `@PATH`/`@-` as blobs).
fn value_of(bytes: &mut BytesArgs, text: &str) -> Result<Value, String> {
    if text == "null" {
        return Ok(Value::Null);
    }
    if let Some(number) = text.strip_prefix("int:") {
        return number
            .parse()
            .map(Value::Integer)
            .map_err(|_| format!("`{text}`: not an integer"));
    }
    if let Some(number) = text.strip_prefix("real:") {
        return number
            .parse()
            .map(Value::Real)
            .map_err(|_| format!("`{text}`: not a number"));
    }
    if text.starts_with('@') || text.starts_with("hex:") {
        return bytes.parse(text).map(Value::Blob);
    }
    Ok(Value::Text(text.to_owned()))
}

/// A value as a table cell: SQL literals for NULL and blobs.
pub fn cell(value: &Value) -> String {
    match value {
        Value::Null => "NULL".to_owned(),
        Value::Integer(n) => n.to_string(),
        Value::Real(x) => x.to_string(),
        Value::Text(text) => text.clone(),
        Value::Blob(blob) => format!("x'{}'", encode(blob)),
    }
}

/// A value as JSON: blobs as `{"hex": …}`.
pub fn json_value(value: &Value) -> Json {
    match value {
        Value::Null => Json::Null,
        Value::Integer(n) => json!(n),
        Value::Real(x) => json!(x),
        Value::Text(text) => json!(text),
        Value::Blob(blob) => json!({ "hex": encode(blob) }),
    }
}

/// Rows as a table (their columns as headers); empty when there is no row.
pub fn table(rows: &[Row]) -> String {
    let Some(first) = rows.first() else {
        return String::new();
    };
    let headers: Vec<&str> = first.columns().iter().map(String::as_str).collect();
    let right: Vec<bool> = first
        .values()
        .iter()
        .map(|v| matches!(v, Value::Integer(_) | Value::Real(_)))
        .collect();
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|row| row.values().iter().map(cell).collect())
        .collect();
    crate::output::table(&headers, &right, &cells)
}

/// Rows as JSON objects, column name to value.
pub fn json_rows(rows: &[Row]) -> Json {
    Json::Array(
        rows.iter()
            .map(|row| {
                Json::Object(
                    row.columns()
                        .iter()
                        .zip(row.values())
                        .map(|(column, value)| (column.clone(), json_value(value)))
                        .collect(),
                )
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_by_kind() {
        let params = SqlParams::parse(&[
            "text".to_owned(),
            "int:42".to_owned(),
            "real:1.5".to_owned(),
            "null".to_owned(),
            "hex:00ff".to_owned(),
        ])
        .unwrap();
        assert_eq!(
            params.positional,
            [
                Value::Text("text".into()),
                Value::Integer(42),
                Value::Real(1.5),
                Value::Null,
                Value::Blob(vec![0, 255]),
            ]
        );
        let named = SqlParams::parse(&[":id=int:7".to_owned()]).unwrap();
        assert_eq!(named.named, [(":id".to_owned(), Value::Integer(7))]);
        assert!(SqlParams::parse(&["a".to_owned(), ":b=c".to_owned()]).is_err());
        assert!(SqlParams::parse(&["int:x".to_owned()]).is_err());
    }
}
