//! `sweep diff`: compare two result CSVs cell by cell with a numeric tolerance.

use std::path::Path;

use anyhow::{Context, Result};

/// Most differences printed before the rest are only counted.
const MAX_REPORTED: usize = 20;

/// Compares `left` and `right` and returns one line per difference (all of them; the caller
/// decides how many to print). Cells that both parse as numbers are equal when
/// `|a − b| ≤ absolute_tolerance`; other cells must match exactly. Empty cells equal only empty
/// cells.
pub fn diff_csv(left: &Path, right: &Path, absolute_tolerance: f64) -> Result<Vec<String>> {
    let (left_header, left_rows) = read(left)?;
    let (right_header, right_rows) = read(right)?;
    let mut differences = Vec::new();
    if left_header != right_header {
        differences.push(format!(
            "headers differ:\n  {}\n  {}",
            left_header.join(","),
            right_header.join(",")
        ));
        return Ok(differences);
    }
    if left_rows.len() != right_rows.len() {
        differences.push(format!(
            "row counts differ: {} has {} rows, {} has {}",
            left.display(),
            left_rows.len(),
            right.display(),
            right_rows.len()
        ));
    }
    for (row_index, (a, b)) in left_rows.iter().zip(&right_rows).enumerate() {
        for (column, (x, y)) in left_header.iter().zip(a.iter().zip(b)) {
            if !cells_equal(x, y, absolute_tolerance) {
                // Line numbers count the header as line 1.
                differences.push(format!(
                    "line {} column {column}: {x} vs {y}{}",
                    row_index + 2,
                    match (x.parse::<f64>(), y.parse::<f64>()) {
                        (Ok(p), Ok(q)) => format!(" (|Δ| = {:.3e})", (p - q).abs()),
                        _ => String::new(),
                    }
                ));
            }
        }
    }
    Ok(differences)
}

/// Prints the differences (at most [`MAX_REPORTED`]) and a closing line.
pub fn report(differences: &[String], left: &Path, right: &Path) {
    for line in differences.iter().take(MAX_REPORTED) {
        println!("{line}");
    }
    if differences.len() > MAX_REPORTED {
        println!("… and {} more", differences.len() - MAX_REPORTED);
    }
    if differences.is_empty() {
        println!("{} and {} agree", left.display(), right.display());
    } else {
        println!(
            "{} differences between {} and {}",
            differences.len(),
            left.display(),
            right.display()
        );
    }
}

fn cells_equal(x: &str, y: &str, tolerance: f64) -> bool {
    if x == y {
        return true;
    }
    match (x.parse::<f64>(), y.parse::<f64>()) {
        (Ok(a), Ok(b)) => (a - b).abs() <= tolerance,
        _ => false,
    }
}

type Table = (Vec<String>, Vec<Vec<String>>);

fn read(path: &Path) -> Result<Table> {
    let mut reader =
        csv::Reader::from_path(path).with_context(|| format!("{}: cannot open", path.display()))?;
    let header = reader
        .headers()
        .with_context(|| format!("{}: cannot read the header", path.display()))?
        .iter()
        .map(String::from)
        .collect();
    let mut rows = Vec::new();
    for (index, record) in reader.records().enumerate() {
        let record = record
            .with_context(|| format!("{}: line {}: malformed row", path.display(), index + 2))?;
        rows.push(record.iter().map(String::from).collect());
    }
    Ok((header, rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tolerance_applies_to_numbers_only() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.csv");
        let b = dir.path().join("b.csv");
        std::fs::write(&a, "id,x,y\nr1,0.500000,foo\nr2,0.100000,\n").unwrap();
        std::fs::write(&b, "id,x,y\nr1,0.500100,foo\nr2,0.100000,bar\n").unwrap();
        let strict = diff_csv(&a, &b, 0.0).unwrap();
        assert_eq!(
            strict,
            vec![
                "line 2 column x: 0.500000 vs 0.500100 (|Δ| = 1.000e-4)".to_string(),
                "line 3 column y:  vs bar".to_string(),
            ]
        );
        let loose = diff_csv(&a, &b, 1e-3).unwrap();
        assert_eq!(loose.len(), 1);
        assert!(diff_csv(&a, &a, 0.0).unwrap().is_empty());
    }

    #[test]
    fn header_mismatch_is_a_difference() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.csv");
        let b = dir.path().join("b.csv");
        std::fs::write(&a, "id,x\n").unwrap();
        std::fs::write(&b, "id,z\n").unwrap();
        assert!(diff_csv(&a, &b, 0.0).unwrap()[0].starts_with("headers differ"));
        assert!(diff_csv(&a, &dir.path().join("missing.csv"), 0.0).is_err());
    }
}
