//! Noisy labels given as data, such as the human annotations of CIFAR-10N: reading a label file
//! (CSV or `.npy`) and pairing its labels with the clean ones of a split (docs/DEFINITIONS.md,
//! `#file`).

use crate::error::NoiseError;
use crate::inject::NoisyLabels;
use crate::matrix::check_labels;

/// The name of the CSV column holding each line's sample index in the source data.
pub const ROW_COLUMN: &str = "row";

/// Reads the label columns `columns` of a labels CSV.
///
/// The text has a header line naming its columns, among them [`ROW_COLUMN`] (`row`) and every
/// name in `columns`; other columns are ignored, and column order does not matter. Each further
/// line is one sample: `row` is its index in the source's training data and each label column its
/// label, all non-negative integers (spaces around a field are ignored; fields may be quoted).
/// With n data lines, every row index 0 … n − 1 must appear exactly once, in any order.
///
/// Returns one vector per name in `columns`, in that order, each indexed by row:
/// `result[c][r]` is column `columns[c]`'s label of sample r. Labels are not checked against a
/// number of classes here; [`file_labels_for_rows`] does that.
///
/// Errors are [`NoiseError::LabelCsv`], naming the 1-based line (1 is the header) and the column:
/// no column requested, a name requested twice, a column missing from the header or named twice
/// in it, a line with another number of fields than the header, a field that is not a
/// non-negative integer, a row index ≥ n, a row index on two lines.
pub fn labels_from_csv_str(text: &str, columns: &[&str]) -> Result<Vec<Vec<usize>>, NoiseError> {
    let header_error = |column: &str, message: String| NoiseError::LabelCsv {
        line: 1,
        column: column.to_string(),
        message,
    };
    if columns.is_empty() {
        return Err(header_error(
            "",
            "no label column requested; name at least one".to_string(),
        ));
    }
    for (i, name) in columns.iter().enumerate() {
        if columns[..i].contains(name) {
            return Err(header_error(name, "requested twice".to_string()));
        }
        if *name == ROW_COLUMN {
            return Err(header_error(
                name,
                "`row` holds sample indices, not labels; request a label column".to_string(),
            ));
        }
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let header = reader
        .headers()
        .map_err(|error| csv_error(&error, 1))?
        .clone();
    let position = |name: &str| -> Result<usize, NoiseError> {
        let mut found = header.iter().enumerate().filter(|&(_, h)| h == name);
        match (found.next(), found.next()) {
            (Some((index, _)), None) => Ok(index),
            (Some(_), Some(_)) => Err(header_error(
                name,
                "named twice in the header; each column must be named once".to_string(),
            )),
            (None, _) => Err(header_error(
                name,
                format!(
                    "no such column; the header names {}",
                    header
                        .iter()
                        .map(|h| format!("`{h}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )),
        }
    };
    let row_index = position(ROW_COLUMN)?;
    let label_indices = columns
        .iter()
        .map(|name| position(name))
        .collect::<Result<Vec<_>, _>>()?;

    // (line, row, labels) per data line, checked against n once every line is read.
    let mut lines: Vec<(u64, usize, Vec<usize>)> = Vec::new();
    for record in reader.records() {
        let fallback_line = lines.last().map_or(2, |&(line, _, _)| line + 1);
        let record = record.map_err(|error| csv_error(&error, fallback_line))?;
        let line = record.position().map_or(fallback_line, |p| p.line());
        let integer = |index: usize, column: &str| -> Result<usize, NoiseError> {
            let field = record.get(index).unwrap_or("");
            field.parse::<usize>().map_err(|_| NoiseError::LabelCsv {
                line,
                column: column.to_string(),
                message: format!("`{field}` is not a non-negative integer"),
            })
        };
        let row = integer(row_index, ROW_COLUMN)?;
        let labels = label_indices
            .iter()
            .zip(columns)
            .map(|(&index, name)| integer(index, name))
            .collect::<Result<Vec<_>, _>>()?;
        lines.push((line, row, labels));
    }

    let n_rows = lines.len();
    // With n lines and an index ≥ n, some index below n has no line: the one to name.
    let missing = || {
        let mut present = vec![false; n_rows];
        for &(_, row, _) in &lines {
            if row < n_rows {
                present[row] = true;
            }
        }
        present.iter().position(|&p| !p)
    };
    let mut first_line: Vec<Option<u64>> = vec![None; n_rows];
    let mut result = vec![vec![0usize; n_rows]; columns.len()];
    for &(line, row, ref labels) in &lines {
        let row_error = |message: String| NoiseError::LabelCsv {
            line,
            column: ROW_COLUMN.to_string(),
            message,
        };
        if row >= n_rows {
            let gap = missing()
                .map(|m| format!("; row {m} has no line (is it missing?)"))
                .unwrap_or_default();
            return Err(row_error(format!(
                "row index {row} is out of range: the file has {n_rows} data lines, so row \
                 indices run from 0 to {}{gap}",
                n_rows - 1
            )));
        }
        if let Some(first) = first_line[row] {
            return Err(row_error(format!(
                "row index {row} already appeared on line {first}; each row must appear once"
            )));
        }
        first_line[row] = Some(line);
        for (column, label) in result.iter_mut().zip(labels) {
            column[row] = *label;
        }
    }
    Ok(result)
}

fn csv_error(error: &csv::Error, fallback_line: u64) -> NoiseError {
    let line = error.position().map_or(fallback_line, |p| p.line());
    let message = match error.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("the line has {len} fields, the header {expected_len}"),
        _ => error.to_string(),
    };
    NoiseError::LabelCsv {
        line,
        column: String::new(),
        message,
    }
}

/// Reads a `.npy` file holding a 1-D array of labels, element i being sample i's label.
///
/// Accepted: format versions 1.0, 2.0 and 3.0; integer dtypes `i1 i2 i4 i8 u1 u2 u4 u8` in
/// either byte order (`<`, `>`, or `|` for one byte), as `numpy.save` writes them; shape `(n,)`.
/// Every value must be a non-negative integer. Errors ([`NoiseError::Npy`]) say which of these
/// fails: not an npy file, an unreadable header, another dtype, another number of dimensions,
/// a data size that does not match the shape, a negative element (naming its index).
pub fn labels_from_npy(bytes: &[u8]) -> Result<Vec<usize>, NoiseError> {
    let fail = |message: String| NoiseError::Npy { message };
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err(fail(
            "not an npy file (it does not start with \\x93NUMPY)".to_string(),
        ));
    }
    let major = bytes[6];
    let (header_len, header_start) = match major {
        1 => (usize::from(u16::from_le_bytes([bytes[8], bytes[9]])), 10),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        _ => {
            return Err(fail(format!(
                "format version {major}.{} is not supported; expected 1.0, 2.0 or 3.0",
                bytes[7]
            )));
        }
    };
    let data_start = header_start + header_len;
    let header = bytes
        .get(header_start..data_start)
        .and_then(|h| std::str::from_utf8(h).ok())
        .ok_or_else(|| fail("the header is truncated or not text".to_string()))?;

    let descr = header_value(header, "descr")
        .ok_or_else(|| fail(format!("the header has no `descr`: {header}")))?;
    let descr = descr.trim_matches(|c| c == '\'' || c == '"');
    let (order, kind, size) = parse_descr(descr).ok_or_else(|| {
        fail(format!(
            "dtype `{descr}` is not an integer type; expected one of i1, i2, i4, i8, u1, u2, \
             u4, u8"
        ))
    })?;
    let shape = header_value(header, "shape")
        .ok_or_else(|| fail(format!("the header has no `shape`: {header}")))?;
    let dims = shape
        .trim_matches(|c| c == '(' || c == ')')
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(|d| d.parse::<usize>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| fail(format!("shape `{shape}` is not a tuple of sizes")))?;
    let [n] = dims[..] else {
        return Err(fail(format!(
            "shape {shape} has {} dimensions; labels must be a 1-D array",
            dims.len()
        )));
    };
    let data = &bytes[data_start.min(bytes.len())..];
    if data.len() != n * size {
        return Err(fail(format!(
            "{} data bytes for {n} elements of {size} bytes; expected {}",
            data.len(),
            n * size
        )));
    }
    data.chunks_exact(size)
        .enumerate()
        .map(|(index, chunk)| {
            let value = decode_integer(chunk, order, kind);
            usize::try_from(value).map_err(|_| {
                fail(format!(
                    "element {index} is {value}, not a non-negative integer"
                ))
            })
        })
        .collect()
}

/// Byte order of an npy dtype.
#[derive(Clone, Copy)]
enum ByteOrder {
    Little,
    Big,
}

/// (byte order, signed, size in bytes) of an integer dtype string such as `<i8` or `|u1`.
fn parse_descr(descr: &str) -> Option<(ByteOrder, bool, usize)> {
    let mut chars = descr.chars();
    let order = match chars.next()? {
        '<' | '|' => ByteOrder::Little,
        '>' => ByteOrder::Big,
        _ => return None,
    };
    let signed = match chars.next()? {
        'i' => true,
        'u' => false,
        _ => return None,
    };
    let size: usize = chars.as_str().parse().ok()?;
    matches!(size, 1 | 2 | 4 | 8).then_some((order, signed, size))
}

/// One element as an i128 (wide enough for every accepted dtype).
fn decode_integer(chunk: &[u8], order: ByteOrder, signed: bool) -> i128 {
    let mut le = [0u8; 8];
    for (i, &byte) in chunk.iter().enumerate() {
        let at = match order {
            ByteOrder::Little => i,
            ByteOrder::Big => chunk.len() - 1 - i,
        };
        le[at] = byte;
    }
    let unsigned = u64::from_le_bytes(le);
    let bits = 8 * chunk.len() as u32;
    if signed && bits < 64 && (unsigned >> (bits - 1)) & 1 == 1 {
        i128::from(unsigned) - (1i128 << bits)
    } else if signed {
        i128::from(unsigned as i64)
    } else {
        i128::from(unsigned)
    }
}

/// The text of `key`'s value in a Python dict literal such as
/// `{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }`: up to the next top-level comma.
fn header_value<'a>(header: &'a str, key: &str) -> Option<&'a str> {
    let start = header
        .find(&format!("'{key}'"))
        .or_else(|| header.find(&format!("\"{key}\"")))?
        + key.len()
        + 2;
    let rest = header[start..].trim_start().strip_prefix(':')?.trim_start();
    let mut depth = 0usize;
    for (i, c) in rest.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' | '}' if depth == 0 => return Some(rest[..i].trim()),
            _ => {}
        }
    }
    None
}

/// The noisy labels of a split whose samples are rows `rows` of a source data set, with the
/// noisy labels taken from a file rather than drawn.
///
/// `source_clean` holds the clean labels of the whole source (e.g. the 50,000 CIFAR-10 training
/// images) in source order and `file_labels` one label column of the file for the same rows
/// (from [`labels_from_csv_str`] or [`labels_from_npy`]). The result has one sample per entry of
/// `rows`, in that order: clean label `source_clean[r]`, noisy label `file_labels[r]`; a row
/// listed twice is two samples. The flipped mask, transitions and realised rate are measured
/// from the labels, not set.
///
/// Errors: [`NoiseError::FileRowCount`] when the file does not have one label per source sample;
/// [`NoiseError::TooFewClasses`]; [`NoiseError::LabelOutOfRange`] for a clean label and
/// [`NoiseError::FileLabelOutOfRange`] for a file label outside `0..n_classes` (every row of the
/// file is checked, selected or not); [`NoiseError::RowOutOfRange`] for a row index not in the
/// source.
pub fn file_labels_for_rows(
    source_clean: &[usize],
    file_labels: &[usize],
    rows: &[usize],
    n_classes: usize,
) -> Result<NoisyLabels, NoiseError> {
    if file_labels.len() != source_clean.len() {
        return Err(NoiseError::FileRowCount {
            file: file_labels.len(),
            source_len: source_clean.len(),
        });
    }
    if n_classes < 2 {
        return Err(NoiseError::TooFewClasses { n_classes });
    }
    check_labels(source_clean, n_classes)?;
    if let Some((row, &label)) = file_labels
        .iter()
        .enumerate()
        .find(|&(_, &l)| l >= n_classes)
    {
        return Err(NoiseError::FileLabelOutOfRange {
            row,
            label,
            n_classes,
        });
    }
    let n_rows = source_clean.len();
    if let Some((index, &row)) = rows.iter().enumerate().find(|&(_, &r)| r >= n_rows) {
        return Err(NoiseError::RowOutOfRange { index, row, n_rows });
    }
    let clean: Vec<usize> = rows.iter().map(|&r| source_clean[r]).collect();
    let noisy: Vec<usize> = rows.iter().map(|&r| file_labels[r]).collect();
    Ok(NoisyLabels::measure(&clean, noisy, n_classes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::seq::SliceRandom;
    use rand_chacha::ChaCha8Rng;

    /// An npy file as `numpy.save` writes it (version 1.0, header padded to 64 bytes).
    fn npy(descr: &str, shape: &str, data: &[u8]) -> Vec<u8> {
        let mut header =
            format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
        while (10 + header.len() + 1) % 64 != 0 {
            header.push(' ');
        }
        header.push('\n');
        let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
        bytes.extend((header.len() as u16).to_le_bytes());
        bytes.extend(header.as_bytes());
        bytes.extend(data);
        bytes
    }

    #[test]
    fn csv_labels_round_trip_by_row_from_shuffled_lines() {
        let n = 3000;
        let aggre: Vec<usize> = (0..n).map(|i| (i * 7) % 10).collect();
        let worse: Vec<usize> = (0..n).map(|i| (i * 3 + 1) % 10).collect();
        let mut order: Vec<usize> = (0..n).collect();
        order.shuffle(&mut ChaCha8Rng::seed_from_u64(1));
        let mut text = String::from("worse_label, row ,aggre_label,comment\n");
        for &r in &order {
            text.push_str(&format!("{},{r}, {},\"x, y\"\n", worse[r], aggre[r]));
        }
        let columns = labels_from_csv_str(&text, &["aggre_label", "worse_label"]).unwrap();
        assert_eq!(columns, vec![aggre, worse]);
    }

    #[test]
    fn csv_errors_name_the_line_and_column() {
        let check = |text: &str, columns: &[&str], line: u64, column: &str, message: &str| {
            assert_eq!(
                labels_from_csv_str(text, columns),
                Err(NoiseError::LabelCsv {
                    line,
                    column: column.to_string(),
                    message: message.to_string()
                }),
                "{text:?}"
            );
        };
        check(
            "row,label\n0,1\n",
            &["worse"],
            1,
            "worse",
            "no such column; the header names `row`, `label`",
        );
        check(
            "index,label\n0,1\n",
            &["label"],
            1,
            "row",
            "no such column; the header names `index`, `label`",
        );
        check(
            "row,label,label\n0,1,1\n",
            &["label"],
            1,
            "label",
            "named twice in the header; each column must be named once",
        );
        check(
            "row,label\n0,1\n1,-2\n",
            &["label"],
            3,
            "label",
            "`-2` is not a non-negative integer",
        );
        check(
            "row,label\n0,1\n1.5,2\n",
            &["label"],
            3,
            "row",
            "`1.5` is not a non-negative integer",
        );
        check(
            "row,label\n0,1\n2,1\n",
            &["label"],
            3,
            "row",
            "row index 2 is out of range: the file has 2 data lines, so row indices run from 0 to 1; row 1 has no line (is it missing?)",
        );
        check(
            "row,label\n1,1\n0,1\n1,0\n",
            &["label"],
            4,
            "row",
            "row index 1 already appeared on line 2; each row must appear once",
        );
        check(
            "row,label\n0,1\n1\n",
            &["label"],
            3,
            "",
            "the line has 1 fields, the header 2",
        );
        check(
            "row,label\n",
            &[],
            1,
            "",
            "no label column requested; name at least one",
        );
        assert_eq!(
            labels_from_csv_str("row,label\n", &["label"]),
            Ok(vec![vec![]])
        );
    }

    #[test]
    fn npy_labels_round_trip_in_every_integer_dtype() {
        let labels: Vec<usize> = (0..1000).map(|i| (i * 13) % 10).collect();
        type Encode = Box<dyn Fn(usize) -> Vec<u8>>;
        let cases: [(&str, Encode); 5] = [
            ("<i8", Box::new(|v| (v as i64).to_le_bytes().to_vec())),
            ("<i4", Box::new(|v| (v as i32).to_le_bytes().to_vec())),
            (">i2", Box::new(|v| (v as i16).to_be_bytes().to_vec())),
            ("|u1", Box::new(|v| vec![v as u8])),
            ("<u8", Box::new(|v| (v as u64).to_le_bytes().to_vec())),
        ];
        for (descr, encode) in cases {
            let data: Vec<u8> = labels.iter().flat_map(|&v| encode(v)).collect();
            let bytes = npy(descr, "(1000,)", &data);
            assert_eq!(labels_from_npy(&bytes).unwrap(), labels, "{descr}");
        }
    }

    #[test]
    fn npy_errors_say_what_is_wrong() {
        let message = |bytes: &[u8]| match labels_from_npy(bytes) {
            Err(NoiseError::Npy { message }) => message,
            other => panic!("expected an npy error, got {other:?}"),
        };
        assert!(message(b"row,label\n0,1\n").starts_with("not an npy file"));
        assert!(message(&npy("<f4", "(1,)", &[0; 4])).starts_with("dtype `<f4` is not an integer"));
        assert!(message(&npy("<i8", "(1, 2)", &[0; 16])).contains("has 2 dimensions"));
        assert!(message(&npy("<i8", "(3,)", &[0; 16])).starts_with("16 data bytes for 3 elements"));
        let negative: Vec<u8> = [3i32, -1].iter().flat_map(|v| v.to_le_bytes()).collect();
        assert_eq!(
            message(&npy("<i4", "(2,)", &negative)),
            "element 1 is -1, not a non-negative integer"
        );
    }

    #[test]
    fn file_labels_for_rows_selects_and_measures() {
        let source_clean = [0, 1, 2, 0, 1, 2];
        let file = [0, 2, 2, 1, 1, 0];
        let split = file_labels_for_rows(&source_clean, &file, &[5, 1, 0, 4], 3).unwrap();
        assert_eq!(split.labels, vec![0, 2, 0, 1]);
        assert_eq!(split.flipped, vec![true, true, false, false]);
        assert_eq!(split.realised_rate(), 0.5);
        assert_eq!(split.transitions[2][0], 1);
        assert_eq!(split.transitions[1][2], 1);
        assert_eq!(
            file_labels_for_rows(&source_clean, &file[..5], &[0], 3),
            Err(NoiseError::FileRowCount {
                file: 5,
                source_len: 6
            })
        );
        assert_eq!(
            file_labels_for_rows(&source_clean, &[0, 1, 2, 3, 1, 0], &[0], 3),
            Err(NoiseError::FileLabelOutOfRange {
                row: 3,
                label: 3,
                n_classes: 3
            })
        );
        assert_eq!(
            file_labels_for_rows(&source_clean, &file, &[0, 6], 3),
            Err(NoiseError::RowOutOfRange {
                index: 1,
                row: 6,
                n_rows: 6
            })
        );
    }
}
