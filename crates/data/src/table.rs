//! CSV tables with a header line: one named label column, every other column a numeric feature.

use std::collections::{BTreeSet, HashMap};
use std::fs;
use std::io;
use std::path::Path;

use crate::dataset::{DataError, Dataset};

/// Loads a CSV table whose first line names the columns.
///
/// The column named `label_column` holds the class of each row (any text); every other column is
/// a feature and must hold a finite number, read as `f32`. Class names are the distinct label
/// values, sorted numerically when all of them are finite numbers and lexicographically otherwise,
/// and labels index into them (`0..n_classes`, at least 2 classes). Features keep the header's
/// column order, `n_samples × (columns − 1)`, row-major. Fields are trimmed of surrounding
/// whitespace and empty lines are skipped. The data set is named after the file stem and has no
/// image shape. Errors name the file and, for a bad row, its 1-based line (the header is line 1).
pub fn load_csv_table(path: &Path, label_column: &str) -> Result<Dataset, DataError> {
    let path_name = path.display().to_string();
    let bytes = fs::read(path).map_err(|error| match error.kind() {
        io::ErrorKind::NotFound => DataError::File {
            path: path_name.clone(),
            message: "file not found; expected a CSV table with a header line".into(),
        },
        _ => DataError::Io {
            source_name: path_name.clone(),
            error,
        },
    })?;
    let mut dataset = parse_csv_table(&bytes, &path_name, label_column)?;
    dataset.name = path.file_stem().map_or_else(
        || path_name.clone(),
        |stem| stem.to_string_lossy().into_owned(),
    );
    Ok(dataset)
}

/// Parses a CSV table held in `bytes`; `source_name` names it in errors. The name is left empty.
fn parse_csv_table(
    bytes: &[u8],
    source_name: &str,
    label_column: &str,
) -> Result<Dataset, DataError> {
    let decode_error = |line: usize, message: String| DataError::Decode {
        source_name: source_name.into(),
        line,
        message,
    };
    let file_error = |message: String| DataError::File {
        path: source_name.into(),
        message,
    };
    // Spreadsheets often start a CSV with a UTF-8 byte-order mark, which would otherwise become
    // part of the first column's name; it holds no line break, so line numbers are unaffected.
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    // `flexible` so that a ragged row reaches us and can be reported with its line and field
    // counts, rather than as the csv crate's generic length error.
    let mut csv_reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(bytes);

    let header = csv_reader
        .headers()
        .map_err(|error| csv_error(error, bytes, source_name))?
        .clone();
    if header.is_empty() {
        return Err(file_error(
            "file is empty; expected a header line naming the columns".into(),
        ));
    }
    let header_line = record_line(bytes, header.position());
    let label_positions: Vec<usize> = header
        .iter()
        .enumerate()
        .filter(|(_, name)| *name == label_column)
        .map(|(index, _)| index)
        .collect();
    let label_index = match label_positions.as_slice() {
        [index] => *index,
        [] => {
            let columns: Vec<String> = header.iter().map(|name| format!("`{name}`")).collect();
            return Err(decode_error(
                header_line,
                format!(
                    "label column `{label_column}` is not in the header; the columns are {}",
                    columns.join(", ")
                ),
            ));
        }
        several => {
            return Err(decode_error(
                header_line,
                format!(
                    "label column `{label_column}` appears {} times in the header; expected once",
                    several.len()
                ),
            ));
        }
    };
    let n_columns = header.len();
    let n_features = n_columns - 1;
    if n_features == 0 {
        return Err(decode_error(
            header_line,
            format!("the header has no feature columns besides the label column `{label_column}`"),
        ));
    }

    let mut features = Vec::new();
    let mut label_values: Vec<String> = Vec::new();
    let mut record = csv::StringRecord::new();
    loop {
        match csv_reader.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(error) => return Err(csv_error(error, bytes, source_name)),
        }
        // Counting lines is linear in the file size, so it is done only for an error.
        let position = record.position().cloned();
        let line = || record_line(bytes, position.as_ref());
        if record.len() != n_columns {
            return Err(decode_error(
                line(),
                format!(
                    "expected {n_columns} fields (one per header column), found {}",
                    record.len()
                ),
            ));
        }
        for (column, field) in record.iter().enumerate() {
            if column == label_index {
                if field.is_empty() {
                    return Err(decode_error(
                        line(),
                        format!("label column `{label_column}` is empty"),
                    ));
                }
                label_values.push(field.to_owned());
                continue;
            }
            let column_name = &header[column];
            let value: f32 = field.parse().map_err(|_| {
                decode_error(
                    line(),
                    format!("column `{column_name}`: value `{field}` is not a number"),
                )
            })?;
            // NaN and infinities parse, but would poison standardisation and training.
            if !value.is_finite() {
                return Err(decode_error(
                    line(),
                    format!("column `{column_name}`: value `{field}` is not a finite number"),
                ));
            }
            features.push(value);
        }
    }
    if label_values.is_empty() {
        return Err(file_error("no data rows after the header".into()));
    }

    let class_names = sorted_class_names(&label_values);
    if class_names.len() < 2 {
        return Err(file_error(format!(
            "label column `{label_column}` has only one distinct value `{}`; expected at least 2 classes",
            class_names[0]
        )));
    }
    let index_of: HashMap<&str, usize> = class_names
        .iter()
        .enumerate()
        .map(|(index, name)| (name.as_str(), index))
        .collect();
    let labels = label_values
        .iter()
        .map(|value| index_of.get(value.as_str()).copied().unwrap_or_default())
        .collect();
    Ok(Dataset {
        name: String::new(),
        features,
        labels,
        n_features,
        n_classes: class_names.len(),
        class_names,
        image_shape: None,
    })
}

/// The distinct values, sorted numerically when every one is a finite number (so `"2"` comes
/// before `"10"`), otherwise lexicographically.
fn sorted_class_names(values: &[String]) -> Vec<String> {
    let distinct: BTreeSet<&String> = values.iter().collect();
    let mut names: Vec<String> = distinct.into_iter().cloned().collect();
    let all_numbers = names
        .iter()
        .all(|name| name.parse::<f64>().is_ok_and(f64::is_finite));
    if all_numbers {
        // Distinct strings can be equal numbers (`1` and `1.0`); the lexicographic order they
        // already have breaks such ties, as the sort is stable.
        names.sort_by(|a, b| {
            let a: f64 = a.parse().unwrap_or_default();
            let b: f64 = b.parse().unwrap_or_default();
            a.total_cmp(&b)
        });
    }
    names
}

/// The 1-based line on which the record read from `position` starts.
///
/// The csv crate's own line numbers cannot be used: a record's position is taken before the
/// empty lines in front of it are skipped, and a CRLF terminator's `\n` is counted late, so
/// they lag behind. Instead, skip the line terminators at the record's byte offset and count
/// those before it (`\r\n`, `\n` or a lone `\r`, as the csv crate accepts).
fn record_line(bytes: &[u8], position: Option<&csv::Position>) -> usize {
    let offset = position.map_or(0, |position| {
        usize::try_from(position.byte()).unwrap_or(usize::MAX)
    });
    let mut start = offset.min(bytes.len());
    while start < bytes.len() && matches!(bytes[start], b'\r' | b'\n') {
        start += 1;
    }
    let before = &bytes[..start];
    let terminators = before
        .iter()
        .enumerate()
        .filter(|&(index, &byte)| {
            byte == b'\n' || (byte == b'\r' && before.get(index + 1) != Some(&b'\n'))
        })
        .count();
    terminators + 1
}

/// Converts a csv crate error into a `DataError` naming the source and, where known, the line.
fn csv_error(error: csv::Error, bytes: &[u8], source_name: &str) -> DataError {
    let line = record_line(bytes, error.position());
    match error.into_kind() {
        csv::ErrorKind::Io(error) => DataError::Io {
            source_name: source_name.into(),
            error,
        },
        csv::ErrorKind::Utf8 { err, .. } => DataError::Decode {
            source_name: source_name.into(),
            line,
            message: format!("field {} is not valid UTF-8", err.field() + 1),
        },
        // Seek, serde and unequal-length errors cannot arise from a flexible reader used this way.
        other => DataError::File {
            path: source_name.into(),
            message: format!("cannot read the CSV table: {other:?}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    /// Writes `text` to `name` in a fresh temporary folder, returned with the file's path.
    fn write_table(name: &str, text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        fs::write(&path, text).unwrap();
        (dir, path)
    }

    fn load_error(text: &str, label_column: &str) -> (String, String) {
        let (_dir, path) = write_table("t.csv", text);
        let error = load_csv_table(&path, label_column).unwrap_err();
        (error.to_string(), path.display().to_string())
    }

    #[test]
    fn round_trip_keeps_values_labels_and_column_order() {
        let (_dir, path) =
            write_table("pets.csv", "a,kind,b\n1,dog,2\n3, cat ,4.5\n\n-5,dog,6e1\n");
        let data = load_csv_table(&path, "kind").unwrap();
        assert_eq!(data.name, "pets");
        assert_eq!(data.features, vec![1.0, 2.0, 3.0, 4.5, -5.0, 60.0]);
        assert_eq!(data.labels, vec![1, 0, 1]);
        assert_eq!(data.class_names, vec!["cat", "dog"]);
        assert_eq!((data.n_features, data.n_classes), (2, 2));
        assert_eq!(data.image_shape, None);
    }

    #[test]
    fn binary_table_has_two_classes() {
        let (_dir, path) = write_table("bin.csv", "x,y,z\n0.5,1,0\n1.5,0,1\n2.5,1,1\n");
        let data = load_csv_table(&path, "y").unwrap();
        assert_eq!(data.class_names, vec!["0", "1"]);
        assert_eq!(data.labels, vec![1, 0, 1]);
        assert_eq!(data.features, vec![0.5, 0.0, 1.5, 1.0, 2.5, 1.0]);
        assert_eq!(data.class_counts(), vec![1, 2]);
    }

    #[test]
    fn numeric_labels_sort_numerically() {
        let (_dir, path) = write_table("n.csv", "f,y\n1,10\n2,9\n3,2\n4,-1.5\n5,9\n");
        let data = load_csv_table(&path, "y").unwrap();
        assert_eq!(data.class_names, vec!["-1.5", "2", "9", "10"]);
        assert_eq!(data.labels, vec![3, 2, 1, 0, 2]);
    }

    #[test]
    fn non_numeric_labels_sort_lexicographically() {
        let (_dir, path) = write_table("l.csv", "f,y\n1,10\n2,9\n3,b\n4,a\n");
        let data = load_csv_table(&path, "y").unwrap();
        assert_eq!(data.class_names, vec!["10", "9", "a", "b"]);
        assert_eq!(data.labels, vec![0, 1, 3, 2]);
    }

    #[test]
    fn missing_file_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("absent.csv");
        let error = load_csv_table(&path, "y").unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "{}: file not found; expected a CSV table with a header line",
                path.display()
            )
        );
    }

    #[test]
    fn empty_file_is_reported() {
        let (message, path) = load_error("", "y");
        assert_eq!(
            message,
            format!("{path}: file is empty; expected a header line naming the columns")
        );
    }

    #[test]
    fn missing_label_column_lists_the_columns() {
        let (message, path) = load_error("a,b,label\n1,2,x\n", "y");
        assert_eq!(
            message,
            format!(
                "{path}: line 1: label column `y` is not in the header; the columns are `a`, `b`, `label`"
            )
        );
    }

    #[test]
    fn duplicated_label_column_is_reported() {
        let (message, path) = load_error("y,a,y\n1,2,3\n", "y");
        assert_eq!(
            message,
            format!(
                "{path}: line 1: label column `y` appears 2 times in the header; expected once"
            )
        );
    }

    #[test]
    fn label_only_header_is_reported() {
        let (message, path) = load_error("y\n1\n2\n", "y");
        assert_eq!(
            message,
            format!(
                "{path}: line 1: the header has no feature columns besides the label column `y`"
            )
        );
    }

    #[test]
    fn ragged_rows_name_the_line_and_counts() {
        let (message, path) = load_error("a,b,y\n1,2,x\n3,z\n", "y");
        assert_eq!(
            message,
            format!("{path}: line 3: expected 3 fields (one per header column), found 2")
        );
        let (message, path) = load_error("a,b,y\n1,2,x,4\n", "y");
        assert_eq!(
            message,
            format!("{path}: line 2: expected 3 fields (one per header column), found 4")
        );
    }

    #[test]
    fn non_numeric_feature_names_line_column_and_value() {
        let (message, path) = load_error("a,b,y\n1,2,x\n3,four,z\n", "y");
        assert_eq!(
            message,
            format!("{path}: line 3: column `b`: value `four` is not a number")
        );
    }

    #[test]
    fn non_finite_feature_is_reported() {
        let (message, path) = load_error("a,b,y\n1,NaN,x\n", "y");
        assert_eq!(
            message,
            format!("{path}: line 2: column `b`: value `NaN` is not a finite number")
        );
        let (message, path) = load_error("a,b,y\n1,2,x\n-inf,2,z\n", "y");
        assert_eq!(
            message,
            format!("{path}: line 3: column `a`: value `-inf` is not a finite number")
        );
    }

    #[test]
    fn line_numbers_count_blank_lines() {
        let (message, path) = load_error("\na,y\n\n1,x\nz,w\n", "q");
        assert!(
            message.starts_with(&format!("{path}: line 2: label column `q`")),
            "{message}"
        );
        let (message, path) = load_error("\na,y\n\n1,x\nz,w\n", "y");
        assert_eq!(
            message,
            format!("{path}: line 5: column `a`: value `z` is not a number")
        );
    }

    #[test]
    fn line_numbers_survive_crlf_and_blank_lines() {
        let (message, path) = load_error("a,y\r\n1,x\r\n\r\n\r\nz,w\r\n", "y");
        assert_eq!(
            message,
            format!("{path}: line 5: column `a`: value `z` is not a number")
        );
        let (message, path) = load_error("a,y\n1,x\n\n\n2\n", "y");
        assert_eq!(
            message,
            format!("{path}: line 5: expected 2 fields (one per header column), found 1")
        );
    }

    #[test]
    fn byte_order_mark_is_ignored() {
        let (_dir, path) = write_table("bom.csv", "\u{feff}y,a\n1,2\n0,3\n");
        let data = load_csv_table(&path, "y").unwrap();
        assert_eq!(data.labels, vec![1, 0]);
        assert_eq!(data.features, vec![2.0, 3.0]);
    }

    #[test]
    fn invalid_utf8_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        fs::write(&path, b"a,y\n1,x\n2,\xff\n").unwrap();
        let error = load_csv_table(&path, "y").unwrap_err();
        assert_eq!(
            error.to_string(),
            format!("{}: line 3: field 2 is not valid UTF-8", path.display())
        );
    }

    #[test]
    fn empty_label_is_reported() {
        let (message, path) = load_error("a,y\n1,x\n2,\n", "y");
        assert_eq!(
            message,
            format!("{path}: line 3: label column `y` is empty")
        );
    }

    #[test]
    fn header_without_rows_is_reported() {
        let (message, path) = load_error("a,y\n", "y");
        assert_eq!(message, format!("{path}: no data rows after the header"));
    }

    #[test]
    fn single_class_is_reported() {
        let (message, path) = load_error("a,y\n1,cat\n2,cat\n", "y");
        assert_eq!(
            message,
            format!(
                "{path}: label column `y` has only one distinct value `cat`; expected at least 2 classes"
            )
        );
    }
}
