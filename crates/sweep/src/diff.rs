//! `sweep diff`: compare two result CSVs cell by cell with a numeric tolerance.

use std::path::Path;

use anyhow::{Context, Result};

/// Most differences printed before the rest are only counted.
const MAX_REPORTED: usize = 20;

/// Compares `left` and `right` and returns one line per difference (all of them; the caller
/// decides how many to print). Cells that both parse as numbers are equal when
/// `|a − b| ≤ absolute_tolerance`, the difference taken exactly on their decimal digits (see
/// [`difference`]); other cells must match exactly. Empty cells equal only empty cells.
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
                    match difference(x, y) {
                        Some(delta) => format!(" (|Δ| = {delta:.3e})"),
                        None => String::new(),
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
        outln!("{line}");
    }
    if differences.len() > MAX_REPORTED {
        outln!("… and {} more", differences.len() - MAX_REPORTED);
    }
    if differences.is_empty() {
        outln!("{} and {} agree", left.display(), right.display());
    } else {
        outln!(
            "{} differences between {} and {}",
            differences.len(),
            left.display(),
            right.display()
        );
    }
}

fn cells_equal(x: &str, y: &str, tolerance: f64) -> bool {
    x == y || difference(x, y).is_some_and(|delta| delta <= tolerance)
}

/// `|x − y|` of two cells that parse as numbers (`None` otherwise).
///
/// The cells are decimal text, and binary floating point would misjudge their difference:
/// 0.876251 − 0.876250 is 1.00000000003e-6 in `f64`, so `--atol 1e-6` would flag a change of one
/// unit in the last printed place. So the difference is computed exactly on the decimal digits
/// and rounded once, to the `f64` nearest to it, which is then compared with the tolerance (read
/// as the `f64` nearest to what was typed): a difference equal to the tolerance as written
/// passes. Cells that are not plain decimals (`inf`, `NaN`, more than 36 digits) fall back to
/// `f64` arithmetic.
fn difference(x: &str, y: &str) -> Option<f64> {
    let (a, b) = (x.parse::<f64>().ok()?, y.parse::<f64>().ok()?);
    Some(exact_difference(x, y).unwrap_or_else(|| (a - b).abs()))
}

/// `|x − y|` computed on the decimal digits, rounded once to `f64`.
fn exact_difference(x: &str, y: &str) -> Option<f64> {
    let (a, a_scale) = parse_decimal(x)?;
    let (b, b_scale) = parse_decimal(y)?;
    let scale = a_scale.max(b_scale);
    let align = |mantissa: i128, from: i32| {
        10i128
            .checked_pow(u32::try_from(scale - from).ok()?)
            .and_then(|factor| mantissa.checked_mul(factor))
    };
    let delta = align(a, a_scale)?.checked_sub(align(b, b_scale)?)?;
    format!("{}e{}", delta.unsigned_abs(), -i64::from(scale))
        .parse()
        .ok()
}

/// A decimal number `[+-]digits[.digits][(e|E)[+-]digits]` as `(m, s)` with value `m · 10^(−s)`;
/// `None` for anything else or for more than 36 digits.
fn parse_decimal(text: &str) -> Option<(i128, i32)> {
    let (negative, unsigned) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let (number, exponent) = match unsigned.find(['e', 'E']) {
        Some(at) => (&unsigned[..at], unsigned[at + 1..].parse::<i32>().ok()?),
        None => (unsigned, 0),
    };
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    let digits = || whole.bytes().chain(fraction.bytes());
    if whole.len() + fraction.len() == 0 || whole.len() + fraction.len() > 36 {
        return None;
    }
    if !digits().all(|d| d.is_ascii_digit()) {
        return None;
    }
    let mantissa = digits().fold(0i128, |m, d| m * 10 + i128::from(d - b'0'));
    let scale = i32::try_from(fraction.len()).ok()?.checked_sub(exponent)?;
    Some((if negative { -mantissa } else { mantissa }, scale))
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
    fn a_last_digit_change_within_the_tolerance_passes() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.csv");
        let b = dir.path().join("b.csv");
        let c = dir.path().join("c.csv");
        std::fs::write(&a, "id,x\nr1,0.876250\n").unwrap();
        std::fs::write(&b, "id,x\nr1,0.876251\n").unwrap();
        std::fs::write(&c, "id,x\nr1,0.876252\n").unwrap();
        // In f64, 0.876251 − 0.876250 is 1.00000000003e-6: more than 1e-6.
        assert!((0.876251f64 - 0.876250f64).abs() > 1e-6);
        assert!(diff_csv(&a, &b, 1e-6).unwrap().is_empty());
        assert!(diff_csv(&b, &a, 1e-6).unwrap().is_empty());
        // Two units in the last place are still more than 1e-6.
        assert_eq!(
            diff_csv(&a, &c, 1e-6).unwrap(),
            vec!["line 2 column x: 0.876250 vs 0.876252 (|Δ| = 2.000e-6)".to_string()]
        );
        assert!(diff_csv(&a, &c, 2e-6).unwrap().is_empty());
        // Without a tolerance, any change is one.
        assert_eq!(diff_csv(&a, &b, 0.0).unwrap().len(), 1);
    }

    #[test]
    fn differences_are_exact_on_the_decimal_digits() {
        assert_eq!(parse_decimal("0.876250"), Some((876_250, 6)));
        assert_eq!(parse_decimal("-1.5e-3"), Some((-15, 4)));
        assert_eq!(parse_decimal("12"), Some((12, 0)));
        assert_eq!(parse_decimal(".5"), Some((5, 1)));
        assert_eq!(parse_decimal("2E3"), Some((2, -3)));
        for bad in ["", "-", ".", "1.2.3", "inf", "NaN", "1e", "0x10", "1 "] {
            assert_eq!(parse_decimal(bad), None, "{bad:?}");
        }
        assert_eq!(difference("0.876250", "0.876251"), Some(1e-6));
        assert_eq!(difference("-0.000001", "0.000001"), Some(2e-6));
        assert_eq!(difference("1e-6", "0.000002"), Some(1e-6));
        assert_eq!(difference("inf", "1"), Some(f64::INFINITY));
        assert_eq!(difference("x", "1"), None);
        assert!(!cells_equal("NaN", "0", 1.0));
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
