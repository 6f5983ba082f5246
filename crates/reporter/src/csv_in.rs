//! Reading result CSVs back, so aggregates, charts and the report can be rebuilt from them alone.

use std::io::Read;

use serde::de::DeserializeOwned;

use crate::ReportError;
use crate::csv_out::CsvRow;

/// Reads the rows of a CSV written by [`write_csv`](crate::write_csv). `file` names the input in
/// error messages. The header must be exactly `R::header()`; a cell that does not parse is an
/// error naming its line and what was expected.
pub fn read_csv<R: CsvRow + DeserializeOwned>(
    input: impl Read,
    file: &str,
) -> Result<Vec<R>, ReportError> {
    let error = |line: u64, message: String| ReportError::Input {
        file: file.to_string(),
        line,
        message,
    };
    let mut reader = csv::ReaderBuilder::new().from_reader(input);
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| error(1, e.to_string()))?
        .iter()
        .map(String::from)
        .collect();
    let expected = R::header();
    if header != expected {
        return Err(error(
            1,
            format!(
                "header is `{}`, expected `{}`",
                header.join(","),
                expected.join(",")
            ),
        ));
    }
    let mut rows = Vec::new();
    for result in reader.deserialize::<R>() {
        let row = result.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            let message = match e.kind() {
                csv::ErrorKind::Deserialize { err, .. } => match err.field() {
                    Some(field) => format!(
                        "column `{}`: {}",
                        expected.get(field as usize).map_or("?", String::as_str),
                        err.kind()
                    ),
                    None => err.kind().to_string(),
                },
                _ => e.to_string(),
            };
            error(line, message)
        })?;
        rows.push(row);
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rows::{RunRow, RunStatusLabel};
    use crate::write_csv;

    fn run() -> RunRow {
        RunRow {
            run_id: "00ff".into(),
            noise_model: "symmetric".into(),
            noise_rate: 0.2,
            seed: 3,
            epsilon: 0.1,
            status: RunStatusLabel::Diverged,
            epochs_completed: 2,
            realised_noise_rate: 0.19,
            test_accuracy: Some(0.5),
            best_test_accuracy: Some(0.625),
            best_epoch: Some(1),
            val_selected_test_accuracy: None,
            val_selected_epoch: None,
            test_nll: Some(1.25),
            test_ece: Some(0.125),
            train_accuracy_noisy: Some(0.75),
            train_accuracy_clean: Some(0.5),
            memorised_share: None,
            message: None,
        }
    }

    #[test]
    fn rows_survive_a_round_trip() {
        let mut bytes = Vec::new();
        write_csv(&mut bytes, &[run(), run()]).unwrap();
        let rows: Vec<RunRow> = read_csv(bytes.as_slice(), "runs.csv").unwrap();
        assert_eq!(rows, vec![run(), run()]);
    }

    #[test]
    fn bad_input_names_the_file_line_and_column() {
        let mut bytes = Vec::new();
        write_csv(&mut bytes, &[run(), run()]).unwrap();
        let text = String::from_utf8(bytes).unwrap();
        let broken = text
            .replacen("diverged", "exploded", 2)
            .replacen("exploded", "diverged", 1);
        let error = read_csv::<RunRow>(broken.as_bytes(), "runs.csv").unwrap_err();
        let message = error.to_string();
        assert!(message.starts_with("runs.csv:3: "), "{message}");
        assert!(
            message.contains("`exploded`, expected one of `finished`, `diverged`, `failed`"),
            "{message}"
        );
        let bad_number = text.replacen("0.500000", "half", 1);
        let error = read_csv::<RunRow>(bad_number.as_bytes(), "runs.csv").unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("runs.csv:2: column `test_accuracy`"),
            "{error}"
        );

        let error = read_csv::<RunRow>("run_id,seed\n".as_bytes(), "runs.csv").unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("runs.csv:1: header is `run_id,seed`, expected `run_id,noise_model,"),
            "{error}"
        );
        let short = text.lines().take(2).collect::<Vec<_>>().join("\n") + "\nabc,def\n";
        let error = read_csv::<RunRow>(short.as_bytes(), "runs.csv").unwrap_err();
        assert!(error.to_string().starts_with("runs.csv:3: "), "{error}");
    }
}
