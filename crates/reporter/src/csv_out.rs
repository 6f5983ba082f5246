//! Writing rows as CSV with a fixed float precision, so identical results give identical bytes.

use std::io::Write;

/// Decimal places of every float written to a CSV.
pub const FLOAT_DECIMALS: usize = 6;

/// A type written as one CSV row under a fixed header.
pub trait CsvRow {
    /// Column names, in order.
    fn header() -> Vec<String>;
    /// The row's cells, one per header column.
    fn record(&self) -> Vec<String>;
}

/// Formats a float with [`FLOAT_DECIMALS`] decimals; `-0.000000` is written as `0.000000` so the
/// sign of a rounded zero never makes two files differ. Non-finite values are `NaN`, `inf`, `-inf`.
pub fn format_float(value: f64) -> String {
    let text = format!("{value:.FLOAT_DECIMALS$}");
    if text.starts_with('-') && text[1..].bytes().all(|b| b == b'0' || b == b'.') {
        text[1..].to_string()
    } else {
        text
    }
}

/// [`format_float`] for a present value, an empty cell for `None`.
pub fn format_optional(value: Option<f64>) -> String {
    value.map(format_float).unwrap_or_default()
}

/// Writes the header and `rows` to `out`.
pub fn write_csv<W: Write, R: CsvRow>(out: W, rows: &[R]) -> Result<(), csv::Error> {
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record(R::header())?;
    for row in rows {
        writer.write_record(row.record())?;
    }
    writer.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Pair(f64, Option<f64>);
    impl CsvRow for Pair {
        fn header() -> Vec<String> {
            vec!["a".into(), "b".into()]
        }
        fn record(&self) -> Vec<String> {
            vec![format_float(self.0), format_optional(self.1)]
        }
    }

    #[test]
    fn floats_have_fixed_precision_and_no_negative_zero() {
        assert_eq!(format_float(0.1), "0.100000");
        assert_eq!(format_float(2.0 / 3.0), "0.666667");
        assert_eq!(format_float(-0.0000001), "0.000000");
        assert_eq!(format_float(-0.5), "-0.500000");
        assert_eq!(format_float(f64::NAN), "NaN");
    }

    #[test]
    fn csv_has_header_and_empty_cells_for_missing_values() {
        let mut out = Vec::new();
        write_csv(&mut out, &[Pair(1.0, None), Pair(0.25, Some(3.0))]).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "a,b\n1.000000,\n0.250000,3.000000\n"
        );
    }
}
