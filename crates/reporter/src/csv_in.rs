//! Reading result CSVs back, so aggregates, charts and the report can be rebuilt from them alone.

use std::collections::HashMap;
use std::io::Read;

use serde::de::DeserializeOwned;

use crate::ReportError;
use crate::csv_out::{CsvRow, format_float};
use crate::rows::{EpochRow, RunRow};
use crate::setting::{HasSetting, Setting};

/// Reads the rows of a CSV written by [`write_csv`](crate::write_csv). `file` names the input in
/// error messages. The header must be exactly `R::header()`; a cell that does not parse is an
/// error naming its line and what was expected. A header without the columns of
/// [`CsvRow::added_columns`] (a table written before they existed) is read too, those cells
/// taking their defaults.
pub fn read_csv<R: CsvRow + DeserializeOwned>(
    input: impl Read,
    file: &str,
) -> Result<Vec<R>, ReportError> {
    Ok(read_csv_lines(input, file)?
        .into_iter()
        .map(|(_, row)| row)
        .collect())
}

/// [`read_csv`], each row with the 1-based line it starts on (the header is line 1), so that
/// checks of the rows ([`check_runs`], [`check_epochs`]) can name the line of a bad one.
pub fn read_csv_lines<R: CsvRow + DeserializeOwned>(
    input: impl Read,
    file: &str,
) -> Result<Vec<(u64, R)>, ReportError> {
    let error = |line: u64, message: String| input_error(file, line, message);
    let mut reader = csv::ReaderBuilder::new().from_reader(input);
    let header_record = reader
        .headers()
        .map_err(|e| error(1, e.to_string()))?
        .clone();
    let header: Vec<String> = header_record.iter().map(String::from).collect();
    let expected = R::header();
    // A table written before an added column existed is read without it: the header must be
    // the expected one, less any of the added columns.
    let without_missing: Vec<String> = expected
        .iter()
        .filter(|column| header.contains(column) || !R::added_columns().contains(&column.as_str()))
        .cloned()
        .collect();
    if header != without_missing {
        return Err(error(
            1,
            format!(
                "header is `{}`, expected `{}`",
                header.join(","),
                expected.join(",")
            ),
        ));
    }
    let describe = |e: &csv::Error| match e.kind() {
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
    let mut rows = Vec::new();
    for result in reader.records() {
        let record = result.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            error(line, describe(&e))
        })?;
        let line = record.position().map_or(0, |p| p.line());
        let row = record
            .deserialize::<R>(Some(&header_record))
            .map_err(|e| error(line, describe(&e)))?;
        rows.push((line, row));
    }
    Ok(rows)
}

fn input_error(file: &str, line: u64, message: String) -> ReportError {
    ReportError::Input {
        file: file.to_string(),
        line,
        message,
    }
}

/// An error unless the row's `loss` and parameter columns are a setting a sweep can run.
fn check_setting(file: &str, line: u64, setting: Setting) -> Result<(), ReportError> {
    setting
        .check()
        .map_err(|message| input_error(file, line, message))
}

/// An error unless `value` of `column` is a fraction in [0, 1].
fn check_fraction(
    file: &str,
    line: u64,
    column: &str,
    value: Option<f64>,
) -> Result<(), ReportError> {
    match value {
        Some(v) if !(0.0..=1.0).contains(&v) => Err(input_error(
            file,
            line,
            format!(
                "column `{column}`: {v} is outside [0, 1]: accuracies, shares and rates are \
                 fractions, and a sweep writes no other value"
            ),
        )),
        _ => Ok(()),
    }
}

/// Refuses runs that a sweep could not have written: the same run (noise model, rate, seed,
/// setting) or
/// the same `run_id` twice (a duplicate would count one seed twice and narrow every interval), a
/// rate, accuracy or share outside [0, 1], parameter columns that do not fit the
/// loss or an ε outside [−8, 1], or a row that `identity` rejects (for a sweep, a
/// `run_id` that is not the hash of the row's settings); the error names `file` and the line.
/// An empty `runs` passes: whether a table may be empty is the caller's call.
pub fn check_runs(
    runs: &[(u64, RunRow)],
    file: &str,
    identity: impl Fn(&RunRow) -> Result<(), String>,
) -> Result<(), ReportError> {
    let mut seen_settings: HashMap<(String, String, u64, Vec<String>), u64> = HashMap::new();
    let mut seen_ids: HashMap<&str, u64> = HashMap::new();
    for (line, run) in runs {
        let line = *line;
        check_setting(file, line, run.setting())?;
        // A label set's level is the share of training labels it changes, measured: a sweep
        // writes that share as both rates.
        if run.label_set.is_some() && run.noise_rate != run.realised_noise_rate {
            return Err(input_error(
                file,
                line,
                format!(
                    "column `noise_rate`: {} differs from `realised_noise_rate` {}; for a label \
                     set a sweep writes the share it changes as both",
                    run.noise_rate, run.realised_noise_rate
                ),
            ));
        }
        for (column, value) in [
            ("noise_rate", Some(run.noise_rate)),
            ("realised_noise_rate", Some(run.realised_noise_rate)),
            ("test_accuracy", run.test_accuracy),
            ("best_test_accuracy", run.best_test_accuracy),
            ("val_selected_test_accuracy", run.val_selected_test_accuracy),
            ("test_ece", run.test_ece),
            ("train_accuracy_noisy", run.train_accuracy_noisy),
            ("train_accuracy_clean", run.train_accuracy_clean),
            ("memorised_share", run.memorised_share),
        ] {
            check_fraction(file, line, column, value)?;
        }
        let key = (
            run.noise_model.clone(),
            format_float(run.noise_rate),
            run.seed,
            run.setting().cells(),
        );
        if let Some(first) = seen_settings.insert(key, line) {
            return Err(input_error(
                file,
                line,
                format!(
                    "the run with noise model {}, noise rate {}, seed {} and {} is listed again \
                     (first on line {first}): a sweep writes each run once, and a duplicate \
                     would count one seed twice",
                    run.noise_model,
                    run.noise_rate,
                    run.seed,
                    run.setting().label()
                ),
            ));
        }
        if let Some(first) = seen_ids.insert(&run.run_id, line) {
            return Err(input_error(
                file,
                line,
                format!(
                    "run_id `{}` is listed again (first on line {first}): a sweep writes each \
                     run once",
                    run.run_id
                ),
            ));
        }
        identity(run).map_err(|message| input_error(file, line, message))?;
    }
    Ok(())
}

/// Refuses epochs that a sweep could not have written: the same (`run_id`, epoch) twice, or an
/// accuracy, share or ECE outside [0, 1]; the error names `file` and the line.
pub fn check_epochs(epochs: &[(u64, EpochRow)], file: &str) -> Result<(), ReportError> {
    let mut seen: HashMap<(&str, usize), u64> = HashMap::new();
    for (line, epoch) in epochs {
        let line = *line;
        check_setting(file, line, epoch.setting())?;
        for (column, value) in [
            ("noise_rate", Some(epoch.noise_rate)),
            ("train_accuracy_noisy", Some(epoch.train_accuracy_noisy)),
            ("train_accuracy_clean", Some(epoch.train_accuracy_clean)),
            ("memorised_share", epoch.memorised_share),
            ("corrected_share", epoch.corrected_share),
            ("validation_accuracy", epoch.validation_accuracy),
            ("test_accuracy", Some(epoch.test_accuracy)),
            ("test_ece", Some(epoch.test_ece)),
        ] {
            check_fraction(file, line, column, value)?;
        }
        if let Some(first) = seen.insert((&epoch.run_id, epoch.epoch), line) {
            return Err(input_error(
                file,
                line,
                format!(
                    "epoch {} of run `{}` is listed again (first on line {first}): a sweep writes \
                     each epoch once",
                    epoch.epoch, epoch.run_id
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::LossName;
    use crate::rows::RunStatusLabel;
    use crate::write_csv;

    fn run() -> RunRow {
        RunRow {
            run_id: "00ff".into(),
            status: RunStatusLabel::Diverged,
            epochs_completed: 2,
            realised_noise_rate: 0.19,
            best_test_accuracy: Some(0.625),
            val_selected_test_accuracy: None,
            val_selected_epoch: None,
            test_nll: Some(1.25),
            test_ece: Some(0.125),
            train_accuracy_noisy: Some(0.75),
            ..crate::rows::test_run(0.2, 3, 0.1, 0.5)
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
    fn a_label_set_row_whose_rates_differ_is_refused() {
        let labelled = RunRow {
            label_set: Some("worst".into()),
            ..run()
        };
        let error = check_runs(&[(2, labelled.clone())], "runs.csv", |_| Ok(())).unwrap_err();
        assert!(
            error.to_string().starts_with(
                "runs.csv:2: column `noise_rate`: 0.2 differs from `realised_noise_rate` 0.19"
            ),
            "{error}"
        );
        let measured = RunRow {
            realised_noise_rate: 0.2,
            ..labelled
        };
        assert!(check_runs(&[(2, measured)], "runs.csv", |_| Ok(())).is_ok());
    }

    #[test]
    fn a_table_written_before_a_column_was_added_reads_with_its_default() {
        let labelled = RunRow {
            label_set: Some("worst".into()),
            ..run()
        };
        let mut bytes = Vec::new();
        write_csv(&mut bytes, std::slice::from_ref(&labelled)).unwrap();
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.starts_with("run_id,noise_model,noise_rate,label_set,seed,"));
        // The same table without the columns added later, as the versions before them wrote it:
        // without the loss and its parameters, and also without the label set.
        let without = |columns: &[&str]| -> String {
            let header: Vec<&str> = text.lines().next().unwrap().split(',').collect();
            text.lines()
                .map(|line| {
                    let cells: Vec<&str> = line
                        .split(',')
                        .zip(&header)
                        .filter(|(_, column)| !columns.contains(column))
                        .map(|(cell, _)| cell)
                        .collect();
                    cells.join(",") + "\n"
                })
                .collect()
        };
        let setting = ["loss", "alpha", "beta", "q", "gamma", "log_zero"];
        let before_losses = without(&setting);
        assert_eq!(
            read_csv::<RunRow>(before_losses.as_bytes(), "runs.csv").unwrap(),
            vec![labelled.clone()]
        );
        let old = without(&[&setting[..], &["label_set"]].concat());
        let rows: Vec<RunRow> = read_csv(old.as_bytes(), "runs.csv").unwrap();
        assert_eq!(rows, vec![run()]);
        // A column that is not an added one may not be missing.
        assert!(read_csv::<RunRow>(without(&["seed"]).as_bytes(), "runs.csv").is_err());
        assert_eq!(
            read_csv::<RunRow>(text.as_bytes(), "runs.csv").unwrap(),
            vec![labelled]
        );
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

    #[test]
    fn a_row_whose_parameters_do_not_fit_its_loss_is_refused() {
        let ok = |_: &RunRow| Ok(());
        let gce = RunRow {
            loss: LossName::Gce,
            epsilon: None,
            q: Some(0.7),
            ..run()
        };
        check_runs(&[(2, gce.clone())], "runs.csv", ok).unwrap();
        for (row, expected) in [
            (
                RunRow {
                    epsilon: Some(0.1),
                    ..gce.clone()
                },
                "runs.csv:2: column `epsilon` holds 0.1, but loss `gce` has no such parameter (it has q)",
            ),
            (
                RunRow {
                    q: None,
                    ..gce.clone()
                },
                "runs.csv:2: column `q` is empty, but loss `gce` has that parameter",
            ),
            (
                RunRow {
                    q: Some(1.5),
                    ..gce.clone()
                },
                "runs.csv:2: column `q`: 1.5 is outside (0, 1], the values a sweep runs `gce` with",
            ),
            (
                RunRow {
                    epsilon: Some(1.5),
                    ..run()
                },
                "runs.csv:2: column `epsilon`: 1.5 is outside [-8, 1], the label-smoothing values a sweep can run",
            ),
        ] {
            let error = check_runs(&[(2, row)], "runs.csv", ok).unwrap_err();
            assert_eq!(error.to_string(), expected);
        }
    }
}
