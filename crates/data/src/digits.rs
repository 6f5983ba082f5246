//! The bundled UCI optical-recognition digits (8×8 images, 10 classes), embedded in the binary.

use std::io::Read;

use flate2::read::GzDecoder;

use crate::dataset::{DataError, Dataset, numbered_class_names};

/// The gzip-compressed CSV shipped in `assets/` (see `assets/README.md` for provenance and licence).
const DIGITS_CSV_GZ: &[u8] = include_bytes!("../assets/digits.csv.gz");
const SOURCE: &str = "digits.csv.gz (embedded)";
const N_PIXELS: usize = 64;

/// Loads the 1,797 digits: 64 features (pixel counts 0..16, as `f32`), labels 0..9.
pub fn digits() -> Result<Dataset, DataError> {
    let mut text = String::new();
    GzDecoder::new(DIGITS_CSV_GZ)
        .read_to_string(&mut text)
        .map_err(|error| DataError::Io {
            source_name: SOURCE.into(),
            error,
        })?;
    parse_digits_csv(&text, SOURCE)
}

/// Parses rows of 64 pixel values followed by a label 0..9.
pub(crate) fn parse_digits_csv(text: &str, source_name: &str) -> Result<Dataset, DataError> {
    let decode_error = |line: usize, message: String| DataError::Decode {
        source_name: source_name.into(),
        line,
        message,
    };
    let mut features = Vec::new();
    let mut labels = Vec::new();
    for (line_index, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let line_number = line_index + 1;
        let fields: Vec<&str> = line.split(',').collect();
        if fields.len() != N_PIXELS + 1 {
            return Err(decode_error(
                line_number,
                format!(
                    "expected {} comma-separated values, found {}",
                    N_PIXELS + 1,
                    fields.len()
                ),
            ));
        }
        for field in &fields[..N_PIXELS] {
            let value: f32 = field.trim().parse().map_err(|_| {
                decode_error(
                    line_number,
                    format!("pixel value `{field}` is not a number"),
                )
            })?;
            features.push(value);
        }
        let label_field = fields[N_PIXELS].trim();
        let label = label_field
            .parse::<usize>()
            .ok()
            .filter(|&label| label < 10)
            .ok_or_else(|| {
                decode_error(
                    line_number,
                    format!("label `{label_field}` is not a digit 0..9"),
                )
            })?;
        labels.push(label);
    }
    Ok(Dataset {
        name: "digits".into(),
        features,
        labels,
        n_features: N_PIXELS,
        n_classes: 10,
        class_names: numbered_class_names(10),
        image_shape: Some([1, 8, 8]),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_digits_have_the_documented_shape() {
        let data = digits().unwrap();
        assert_eq!(data.n_samples(), 1797);
        assert_eq!(data.features.len(), 1797 * 64);
        let counts = data.class_counts();
        assert_eq!(counts.iter().sum::<usize>(), 1797);
        assert!(
            counts.iter().all(|&c| (174..=183).contains(&c)),
            "{counts:?}"
        );
        assert!(data.features.iter().all(|&v| (0.0..=16.0).contains(&v)));
        // The first row of the file is a 0.
        assert_eq!(data.labels[0], 0);
        assert_eq!(&data.row(0)[..4], &[0.0, 0.0, 5.0, 13.0]);
    }

    #[test]
    fn malformed_rows_name_the_line() {
        let good = format!("{},3", vec!["1"; 64].join(","));
        let short = "1,2,3";
        let error = parse_digits_csv(&format!("{good}\n{short}\n"), "x.csv").unwrap_err();
        assert_eq!(
            error.to_string(),
            "x.csv: line 2: expected 65 comma-separated values, found 3"
        );
        let bad_label = format!("{},12", vec!["1"; 64].join(","));
        let error = parse_digits_csv(&bad_label, "x.csv").unwrap_err();
        assert_eq!(
            error.to_string(),
            "x.csv: line 1: label `12` is not a digit 0..9"
        );
    }
}
