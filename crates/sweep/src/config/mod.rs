//! The experiment file, in two stages. The first ([`schema`], [`parse`]) reads the TOML as
//! written and validates it: errors name the file, the line, the key and what is allowed. The
//! second ([`ExperimentConfig::resolve`]) fills in every default, once, and gives the typed
//! [`Experiment`] that `check`, the grid, the runs, the manifest and the report all read.

mod facts;
mod locate;
mod resolve;
mod schema;
#[cfg(test)]
mod tests;
mod validate;

use std::fmt;
use std::path::Path;

pub use facts::DataFacts;
pub use resolve::{Experiment, ImageFolderTest, NoiseSource, Source, failing_rows};
pub use schema::*;

use locate::{Origin, key_at, line_of, locate};
use validate::validate;

/// One problem in a configuration file, located as precisely as the parser allows.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigProblem {
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// The dotted key (`noise.rates[2]`), when known.
    pub key: Option<String>,
    /// What is wrong and what is allowed.
    pub message: String,
}

/// A configuration file that could not be used: every problem found, with the file's path.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigError {
    /// The file as given on the command line.
    pub file: String,
    /// The problems, in file order where known.
    pub problems: Vec<ConfigProblem>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, problem) in self.problems.iter().enumerate() {
            if index > 0 {
                writeln!(f)?;
            }
            write!(f, "{}", self.file)?;
            if let Some(line) = problem.line {
                write!(f, ":{line}")?;
            }
            write!(f, ": ")?;
            if let Some(key) = &problem.key {
                write!(f, "{key}: ")?;
            }
            write!(f, "{}", problem.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// Reads, parses and validates the experiment file at `path`.
pub fn load(path: &Path) -> Result<ExperimentConfig, ConfigError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|error| ConfigError {
        file: file.clone(),
        problems: vec![ConfigProblem {
            line: None,
            key: None,
            message: format!("cannot read the experiment file: {error}"),
        }],
    })?;
    parse(&text, &file)
}

/// Parses and validates an experiment from TOML text; `file` names it in errors.
pub fn parse(text: &str, file: &str) -> Result<ExperimentConfig, ConfigError> {
    let mut config: ExperimentConfig = toml::from_str(text).map_err(|error| ConfigError {
        file: file.into(),
        problems: vec![ConfigProblem {
            line: error.span().map(|span| line_of(text, span.start)),
            // A span covering the whole file (a missing top-level key) points at no key.
            key: error
                .span()
                .filter(|span| !(span.start == 0 && span.end >= text.trim_end().len()))
                .and_then(|span| key_at(text, span.start)),
            // `labels_digest` is a field of the schema but no key of the file.
            message: plain_type_names(error.message().trim())
                .replace('\n', " ")
                .replace(", `labels_digest`", ""),
        }],
    })?;
    // The one field of the struct that is no key of the file (see `filled_defaults`).
    if let Some(line) = locate(text, "filled_defaults") {
        return Err(ConfigError {
            file: file.into(),
            problems: vec![ConfigProblem {
                line: Some(line),
                key: Some("filled_defaults".into()),
                message: "unknown field `filled_defaults`, expected one of `name`, `seed`, `seeds`, `data`, `noise`, `targets`, `model`, `training`".into(),
            }],
        });
    }
    if config.noise.labels_digest.is_some() {
        return Err(ConfigError {
            file: file.into(),
            problems: vec![ConfigProblem {
                line: locate(text, "noise.labels_digest"),
                key: Some("noise.labels_digest".into()),
                message: "not a key of the experiment file: it is the digest of the labels file, which resolution records in manifest.json".into(),
            }],
        });
    }
    config.origin = Origin::new(file, text);
    let problems: Vec<ConfigProblem> = validate(&config)
        .into_iter()
        .map(|(key, message)| ConfigProblem {
            line: locate(text, &key),
            key: Some(key),
            message,
        })
        .collect();
    if problems.is_empty() {
        Ok(config)
    } else {
        Err(ConfigError {
            file: file.into(),
            problems,
        })
    }
}

/// The parser's messages with Rust's type names (`expected usize`) in plain words (`expected a
/// non-negative integer`); other messages are returned unchanged.
fn plain_type_names(message: &str) -> String {
    let Some((found, expected)) = message.rsplit_once(", expected ") else {
        return message.to_string();
    };
    let plain = match expected {
        "usize" | "u64" => "a non-negative integer".to_string(),
        "u32" => format!("a non-negative integer up to {}", u32::MAX),
        "u16" => format!("a non-negative integer up to {}", u16::MAX),
        "u8" => format!("a non-negative integer up to {}", u8::MAX),
        "isize" | "i64" | "i32" | "i16" | "i8" => "an integer".to_string(),
        "f64" | "f32" => "a number".to_string(),
        "a boolean" | "bool" => "true or false".to_string(),
        "a string" | "path string" => "a string in quotes".to_string(),
        "a sequence" => "a list in brackets, such as [1, 2]".to_string(),
        other => match other
            .strip_prefix("an array of length ")
            .and_then(|n| n.parse::<usize>().ok())
        {
            Some(1) => "a list of 1 value".to_string(),
            Some(n) => format!("a list of {n} values"),
            None if other.starts_with("struct ") => "a table".to_string(),
            None => return message.to_string(),
        },
    };
    // An integer too large for any integer type is reported as an `i128`.
    let found = found
        .strip_suffix(" as i128")
        .map(|number| number.replacen("invalid type:", "invalid value:", 1))
        .unwrap_or_else(|| found.to_string());
    format!("{found}, expected {plain}")
}
