//! Where things are in the experiment file: the line of a dotted key, the key at a byte offset.

use std::fmt;
use std::sync::Arc;

/// Where a configuration was read from: its file name and text. Never serialised, and equal to
/// every other origin, so it takes no part in hashes or comparisons of configurations.
#[derive(Clone, Default)]
pub struct Origin(Option<Arc<(String, String)>>);

impl Origin {
    /// The origin of `text`, read from `file`.
    pub(super) fn new(file: &str, text: &str) -> Origin {
        Origin(Some(Arc::new((file.to_string(), text.to_string()))))
    }

    /// The file name, or a stand-in for a configuration that was not read from a file.
    pub(super) fn file(&self) -> &str {
        self.0
            .as_ref()
            .map_or("the experiment file", |origin| origin.0.as_str())
    }

    /// The 1-based line of the value at a dotted key, when the text is known and holds it.
    pub(super) fn line_of(&self, key: &str) -> Option<usize> {
        self.0.as_ref().and_then(|origin| locate(&origin.1, key))
    }
}

impl PartialEq for Origin {
    fn eq(&self, _: &Origin) -> bool {
        true
    }
}

impl fmt::Debug for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Origin({:?})", self.file())
    }
}

/// 1-based line of byte offset `offset` in `text`.
pub(super) fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// The dotted key (such as `training.batch_size` or `noise.rates[1]`) whose key or value holds
/// byte `offset` of `text`, the innermost one; `None` outside any key.
pub(super) fn key_at(text: &str, offset: usize) -> Option<String> {
    use toml::de::{DeTable, DeValue};
    fn walk(table: &DeTable<'_>, prefix: &str, offset: usize, found: &mut Option<String>) {
        for (key, value) in table.iter() {
            let name = if prefix.is_empty() {
                key.get_ref().to_string()
            } else {
                format!("{prefix}.{}", key.get_ref())
            };
            // A `[table]`'s span is its header only, so its keys are searched whatever it holds.
            if let DeValue::Table(inner) = value.get_ref() {
                if key.span().contains(&offset) {
                    *found = Some(name.clone());
                }
                walk(inner, &name, offset, found);
                continue;
            }
            let holds = key.span().contains(&offset) || value.span().contains(&offset);
            if holds {
                *found = Some(name.clone());
            }
            if let DeValue::Array(items) = value.get_ref() {
                for (index, item) in items.iter().enumerate() {
                    let element = format!("{name}[{index}]");
                    if item.span().contains(&offset) {
                        *found = Some(element.clone());
                    }
                    // An `[[array]]` table's span is its header only, like a `[table]`'s: its
                    // keys are searched whatever it holds.
                    if let DeValue::Table(inner) = item.get_ref() {
                        walk(inner, &element, offset, found);
                    }
                }
            }
        }
    }
    let document = DeTable::parse(text).ok()?;
    let mut found = None;
    walk(document.get_ref(), "", offset, &mut found);
    found
}

/// The line of the value at a dotted key such as `noise.rates[2]`; for a key the file lacks, the
/// line of the table it belongs in.
pub(super) fn locate(text: &str, key: &str) -> Option<usize> {
    use toml::de::{DeTable, DeValue};
    let document = DeTable::parse(text).ok()?;
    let mut table = document.get_ref();
    let mut span = None;
    let segments: Vec<&str> = key.split('.').collect();
    for (position, segment) in segments.iter().enumerate() {
        let (name, index) = match segment.split_once('[') {
            Some((name, rest)) => (name, rest.trim_end_matches(']').parse::<usize>().ok()),
            None => (*segment, None),
        };
        // A missing key (a required one left out) is located at its table.
        let Some((_, value)) = table.iter().find(|(k, _)| k.get_ref().as_ref() == name) else {
            break;
        };
        span = Some(value.span());
        let mut current = value.get_ref();
        if let Some(index) = index {
            let DeValue::Array(items) = current else {
                break;
            };
            let item = items.get(index)?;
            span = Some(item.span());
            current = item.get_ref();
        }
        match current {
            DeValue::Table(inner) if position + 1 < segments.len() => table = inner,
            _ => break,
        }
    }
    span.map(|span| line_of(text, span.start))
}
