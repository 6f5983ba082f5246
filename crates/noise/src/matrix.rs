//! A validated transition matrix `T[clean][noisy]`: what every class-conditional noise source
//! (a built-in model, a class map, a user's matrix, an estimated one) produces and the injector
//! consumes.

use crate::error::NoiseError;

/// How far a row's sum may be from 1 (docs/DEFINITIONS.md, `#matrix`).
pub const ROW_SUM_TOLERANCE: f64 = 1e-6;

/// A K × K row-stochastic matrix, `T[i][j] = P(noisy = j | clean = i)`: row = clean class,
/// column = noisy class (docs/DEFINITIONS.md, `#matrix`).
///
/// Invariants, checked by every constructor: K ≥ 2, every row has K entries, every entry is finite
/// and non-negative, every row sums to 1 within [`ROW_SUM_TOLERANCE`]. Rows are stored as given
/// (not renormalised), so a built-in model's matrix holds exactly the numbers its formula gives.
#[derive(Debug, Clone, PartialEq)]
pub struct TransitionMatrix {
    rows: Vec<Vec<f64>>,
}

impl TransitionMatrix {
    /// Validates `rows` (row i = clean class i) as a transition matrix; K is `rows.len()`.
    ///
    /// Errors, checked row by row in order: fewer than 2 rows ([`NoiseError::TooFewClasses`]);
    /// a row without K entries ([`NoiseError::MatrixRowLength`]); a negative, NaN or infinite
    /// entry ([`NoiseError::MatrixEntry`]); a row not summing to 1 within 1e-6
    /// ([`NoiseError::MatrixRowSum`]). Each names its row as "row r (clean class r − 1)".
    pub fn from_rows(rows: Vec<Vec<f64>>) -> Result<TransitionMatrix, NoiseError> {
        let n_classes = rows.len();
        if n_classes < 2 {
            return Err(NoiseError::TooFewClasses { n_classes });
        }
        for (row, entries) in rows.iter().enumerate() {
            check_row(row, entries, n_classes)?;
        }
        Ok(TransitionMatrix { rows })
    }

    /// The K × K identity: no label changes. Errors when `n_classes < 2`.
    pub fn identity(n_classes: usize) -> Result<TransitionMatrix, NoiseError> {
        TransitionMatrix::from_rows(
            (0..n_classes)
                .map(|i| {
                    (0..n_classes)
                        .map(|j| f64::from(u8::from(i == j)))
                        .collect()
                })
                .collect(),
        )
    }

    /// Parses a matrix written as CSV text: one row of T per line (line order = clean class
    /// order), K comma-separated decimal numbers per line (`0.6, 0.4` or `6e-1,4e-1`; spaces
    /// around a number are ignored). There is no header: the first line of numbers is clean class
    /// 0. Blank lines and lines whose first non-space character is `#` are skipped, so a file may
    /// carry comments. A trailing comma or an empty field is an error.
    ///
    /// Errors name the 1-based line of the text: [`NoiseError::MatrixCsv`] for a field that is
    /// not a number, [`NoiseError::MatrixCsvRow`] wrapping the [`TransitionMatrix::from_rows`]
    /// error of the row on that line (wrong length, bad entry, row sum), and
    /// [`NoiseError::TooFewClasses`] when fewer than two rows are found.
    pub fn from_csv_str(text: &str) -> Result<TransitionMatrix, NoiseError> {
        let mut rows = Vec::new();
        let mut lines = Vec::new();
        for (index, line) in text.lines().enumerate() {
            let trimmed = line.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let row = trimmed
                .split(',')
                .enumerate()
                .map(|(column, field)| {
                    let field = field.trim();
                    field.parse::<f64>().map_err(|_| NoiseError::MatrixCsv {
                        line: index + 1,
                        message: format!(
                            "field {} is `{field}`, not a number; a row is K comma-separated \
                             numbers",
                            column + 1
                        ),
                    })
                })
                .collect::<Result<Vec<f64>, _>>()?;
            rows.push(row);
            lines.push(index + 1);
        }
        let n_classes = rows.len();
        if n_classes < 2 {
            return Err(NoiseError::TooFewClasses { n_classes });
        }
        for (row, entries) in rows.iter().enumerate() {
            check_row(row, entries, n_classes).map_err(|error| NoiseError::MatrixCsvRow {
                line: lines[row],
                source: Box::new(error),
            })?;
        }
        Ok(TransitionMatrix { rows })
    }

    /// The realised matrix of `counts[clean][noisy]` (K × K, K ≥ 2): row c is `counts[c]` divided
    /// by its sum. A class with no samples (an all-zero row) gets the identity row, so the result
    /// is always a valid matrix; read [`TransitionMatrix::n_classes`] with the class counts if
    /// that distinction matters.
    pub fn from_counts(counts: &[Vec<usize>]) -> Result<TransitionMatrix, NoiseError> {
        let n_classes = counts.len();
        let rows = counts
            .iter()
            .enumerate()
            .map(|(clean, row)| {
                if row.len() != n_classes {
                    return Err(NoiseError::MatrixRowLength {
                        row: clean,
                        len: row.len(),
                        n_classes,
                    });
                }
                let total: usize = row.iter().sum();
                Ok(if total == 0 {
                    (0..n_classes)
                        .map(|j| f64::from(u8::from(j == clean)))
                        .collect()
                } else {
                    row.iter().map(|&c| c as f64 / total as f64).collect()
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        TransitionMatrix::from_rows(rows)
    }

    /// The realised transition matrix of a pair of label vectors over `n_classes` classes:
    /// `T[i][j]` = (number of samples with clean label i and noisy label j) / (number with clean
    /// label i). Rows of classes with no samples are identity rows (see
    /// [`TransitionMatrix::from_counts`]).
    ///
    /// Errors: different lengths ([`NoiseError::LengthMismatch`]), `n_classes < 2`, or a label
    /// of either vector outside `0..n_classes` ([`NoiseError::LabelOutOfRange`], index into that
    /// vector).
    pub fn estimate(
        clean: &[usize],
        noisy: &[usize],
        n_classes: usize,
    ) -> Result<TransitionMatrix, NoiseError> {
        crate::NoisyLabels::from_pair(clean, noisy.to_vec(), n_classes)?.realised_matrix()
    }

    /// The matrix at noise rate `rate` (ρ in [0, 1]) when `self` is given at full strength: every
    /// off-diagonal entry is multiplied by ρ, `T'[i][j] = ρ·T[i][j]` for j ≠ i, and the diagonal
    /// takes the rest, `T'[i][i] = 1 − ρ·Σ_{j≠i} T[i][j]`. Each row's off-diagonal mass is ρ times
    /// its old one and its destinations keep their proportions; ρ = 1 gives `self` back (up to
    /// rounding of the diagonal), ρ = 0 the identity.
    pub fn scaled(&self, rate: f64) -> Result<TransitionMatrix, NoiseError> {
        if !(0.0..=1.0).contains(&rate) {
            return Err(NoiseError::RateOutOfRange { rate });
        }
        let rows = self
            .rows
            .iter()
            .enumerate()
            .map(|(clean, row)| {
                let mut scaled: Vec<f64> = row.iter().map(|&p| rate * p).collect();
                scaled[clean] = 0.0;
                let off_diagonal: f64 = scaled.iter().sum();
                scaled[clean] = (1.0 - off_diagonal).max(0.0);
                scaled
            })
            .collect();
        TransitionMatrix::from_rows(rows)
    }

    /// K, the number of classes (rows, and entries per row); at least 2.
    pub fn n_classes(&self) -> usize {
        self.rows.len()
    }

    /// Row `clean`: the K probabilities of each noisy label for that clean class.
    ///
    /// # Panics
    /// When `clean >= self.n_classes()`.
    pub fn row(&self, clean: usize) -> &[f64] {
        &self.rows[clean]
    }

    /// All K rows, row i = clean class i.
    pub fn rows(&self) -> &[Vec<f64>] {
        &self.rows
    }

    /// Consumes the matrix, returning its rows (the form [`crate::NoiseModel::transition_matrix`]
    /// returns).
    pub fn into_rows(self) -> Vec<Vec<f64>> {
        self.rows
    }

    /// The off-diagonal mass of row `clean`, `Σ_{j≠clean} T[clean][j]`, in [0, 1]: the
    /// probability that a sample of that class is flipped.
    ///
    /// # Panics
    /// When `clean >= self.n_classes()`.
    pub fn off_diagonal_mass(&self, clean: usize) -> f64 {
        off_diagonal_mass(&self.rows[clean], clean)
    }

    /// The expected realised flip rate of a split with `class_counts[c]` samples of clean class c:
    /// `Σ_c n_c·m_c / Σ_c n_c`, m_c the off-diagonal mass of row c; 0 for an empty split. Errors
    /// ([`NoiseError::LengthMismatch`], `clean` = K, `noisy` = the slice's length) when the slice
    /// does not have K counts.
    pub fn flip_rate_for(&self, class_counts: &[usize]) -> Result<f64, NoiseError> {
        if class_counts.len() != self.n_classes() {
            return Err(NoiseError::LengthMismatch {
                clean: self.n_classes(),
                noisy: class_counts.len(),
            });
        }
        let total: usize = class_counts.iter().sum();
        if total == 0 {
            return Ok(0.0);
        }
        let flipped: f64 = class_counts
            .iter()
            .enumerate()
            .map(|(clean, &n)| n as f64 * self.off_diagonal_mass(clean))
            .sum();
        Ok(flipped / total as f64)
    }
}

/// `Σ_{j≠clean} row[j]`.
pub(crate) fn off_diagonal_mass(row: &[f64], clean: usize) -> f64 {
    row.iter()
        .enumerate()
        .filter(|&(j, _)| j != clean)
        .map(|(_, &p)| p)
        .sum()
}

/// `counts[clean][noisy]` over pairs of labels already known to be in `0..n_classes`.
pub(crate) fn count_transitions(
    clean: &[usize],
    noisy: &[usize],
    n_classes: usize,
) -> Vec<Vec<usize>> {
    let mut counts = vec![vec![0; n_classes]; n_classes];
    for (&from, &to) in clean.iter().zip(noisy) {
        counts[from][to] += 1;
    }
    counts
}

/// The first label outside `0..n_classes`, as [`NoiseError::LabelOutOfRange`].
pub(crate) fn check_labels(labels: &[usize], n_classes: usize) -> Result<(), NoiseError> {
    match labels.iter().enumerate().find(|(_, l)| **l >= n_classes) {
        Some((index, &label)) => Err(NoiseError::LabelOutOfRange {
            index,
            label,
            n_classes,
        }),
        None => Ok(()),
    }
}

fn check_row(row: usize, entries: &[f64], n_classes: usize) -> Result<(), NoiseError> {
    if entries.len() != n_classes {
        return Err(NoiseError::MatrixRowLength {
            row,
            len: entries.len(),
            n_classes,
        });
    }
    if let Some((column, &value)) = entries
        .iter()
        .enumerate()
        .find(|&(_, &p)| !p.is_finite() || p < 0.0)
    {
        return Err(NoiseError::MatrixEntry { row, column, value });
    }
    let sum: f64 = entries.iter().sum();
    if (sum - 1.0).abs() > ROW_SUM_TOLERANCE {
        return Err(NoiseError::MatrixRowSum { row, sum });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_errors_name_the_row() {
        let cases: Vec<(Vec<Vec<f64>>, NoiseError, &str)> = vec![
            (
                vec![vec![1.0]],
                NoiseError::TooFewClasses { n_classes: 1 },
                "noise needs at least 2 classes, got 1",
            ),
            (
                vec![vec![1.0, 0.0], vec![0.0, 0.5, 0.5]],
                NoiseError::MatrixRowLength {
                    row: 1,
                    len: 3,
                    n_classes: 2,
                },
                "row 2 (clean class 1) has 3 entries; a matrix with 2 rows needs 2 in every row",
            ),
            (
                vec![
                    vec![1.0, 0.0, 0.0],
                    vec![0.0, 1.0, 0.0],
                    vec![0.2, 1.0, -0.2],
                ],
                NoiseError::MatrixEntry {
                    row: 2,
                    column: 2,
                    value: -0.2,
                },
                "row 3 (clean class 2), column 3 (noisy class 2): -0.2 is not a probability; \
                 entries must be finite and non-negative",
            ),
            (
                vec![vec![0.5, 0.4], vec![0.0, 1.0]],
                NoiseError::MatrixRowSum { row: 0, sum: 0.9 },
                "row 1 (clean class 0) sums to 0.9, not 1 (tolerance 1e-6)",
            ),
        ];
        for (rows, error, message) in cases {
            let got = TransitionMatrix::from_rows(rows).unwrap_err();
            assert_eq!(got.to_string(), message);
            assert_eq!(got, error);
        }
        let nan = TransitionMatrix::from_rows(vec![vec![f64::NAN, 1.0], vec![0.0, 1.0]]);
        assert!(matches!(
            nan,
            Err(NoiseError::MatrixEntry {
                row: 0,
                column: 0,
                ..
            })
        ));
        // Within the tolerance is accepted and stored as given.
        let close = TransitionMatrix::from_rows(vec![vec![0.5, 0.5 + 5e-7], vec![0.0, 1.0]]);
        assert_eq!(close.unwrap().row(0), &[0.5, 0.5 + 5e-7]);
    }

    #[test]
    fn csv_parses_rows_skipping_comments_and_names_lines() {
        let text = "# a 3-class matrix\n0.8, 0.2, 0\n\n0,1,0\n 0.1 ,0.1, 0.8 \n";
        let matrix = TransitionMatrix::from_csv_str(text).unwrap();
        assert_eq!(matrix.n_classes(), 3);
        assert_eq!(matrix.row(0), &[0.8, 0.2, 0.0]);
        assert_eq!(matrix.row(2), &[0.1, 0.1, 0.8]);

        let bad_number = TransitionMatrix::from_csv_str("1,0\n0,x\n").unwrap_err();
        assert_eq!(
            bad_number.to_string(),
            "matrix CSV line 2: field 2 is `x`, not a number; a row is K comma-separated numbers"
        );
        let bad_sum = TransitionMatrix::from_csv_str("# header comment\n1,0\n0.3,0.3\n");
        assert_eq!(
            bad_sum.unwrap_err().to_string(),
            "matrix CSV line 3: row 2 (clean class 1) sums to 0.6, not 1 (tolerance 1e-6)"
        );
        let short = TransitionMatrix::from_csv_str("1,0,0\n0,1\n0,0,1\n").unwrap_err();
        assert_eq!(
            short,
            NoiseError::MatrixCsvRow {
                line: 2,
                source: Box::new(NoiseError::MatrixRowLength {
                    row: 1,
                    len: 2,
                    n_classes: 3
                })
            }
        );
        let trailing_comma = TransitionMatrix::from_csv_str("1,0,\n0,1\n").unwrap_err();
        assert!(matches!(
            trailing_comma,
            NoiseError::MatrixCsv { line: 1, .. }
        ));
        assert_eq!(
            TransitionMatrix::from_csv_str("# only a comment\n1\n"),
            Err(NoiseError::TooFewClasses { n_classes: 1 })
        );
    }

    #[test]
    fn scaled_multiplies_the_off_diagonal_and_keeps_proportions() {
        let full = TransitionMatrix::from_rows(vec![
            vec![0.2, 0.6, 0.2],
            vec![0.0, 1.0, 0.0],
            vec![0.5, 0.5, 0.0],
        ])
        .unwrap();
        let half = full.scaled(0.5).unwrap();
        let expected = [[0.6, 0.3, 0.1], [0.0, 1.0, 0.0], [0.25, 0.25, 0.5]];
        for (row, want) in half.rows().iter().zip(expected) {
            for (got, want) in row.iter().zip(want) {
                assert!((got - want).abs() < 1e-12, "{row:?}");
            }
        }
        assert!((half.off_diagonal_mass(0) - 0.4).abs() < 1e-12);
        assert_eq!(
            full.scaled(0.0).unwrap(),
            TransitionMatrix::identity(3).unwrap()
        );
        assert_eq!(
            full.scaled(1.2),
            Err(NoiseError::RateOutOfRange { rate: 1.2 })
        );
    }

    #[test]
    fn estimate_divides_counts_by_class_size_and_empty_classes_are_identity() {
        let clean = [0, 0, 0, 0, 1, 1, 2, 2];
        let noisy = [0, 1, 1, 2, 1, 1, 0, 2];
        // Class 3 has no samples: identity row.
        let matrix = TransitionMatrix::estimate(&clean, &noisy, 4).unwrap();
        assert_eq!(matrix.row(0), &[0.25, 0.5, 0.25, 0.0]);
        assert_eq!(matrix.row(1), &[0.0, 1.0, 0.0, 0.0]);
        assert_eq!(matrix.row(2), &[0.5, 0.0, 0.5, 0.0]);
        assert_eq!(matrix.row(3), &[0.0, 0.0, 0.0, 1.0]);
        assert_eq!(
            TransitionMatrix::estimate(&clean, &noisy[..7], 4),
            Err(NoiseError::LengthMismatch { clean: 8, noisy: 7 })
        );
        assert_eq!(
            TransitionMatrix::estimate(&clean, &noisy, 2),
            Err(NoiseError::LabelOutOfRange {
                index: 6,
                label: 2,
                n_classes: 2
            })
        );
    }

    #[test]
    fn flip_rate_weights_rows_by_class_counts() {
        let matrix = TransitionMatrix::from_rows(vec![vec![0.9, 0.1], vec![0.5, 0.5]]).unwrap();
        // (30 · 0.1 + 10 · 0.5) / 40 = 0.2.
        assert!((matrix.flip_rate_for(&[30, 10]).unwrap() - 0.2).abs() < 1e-12);
        assert_eq!(matrix.flip_rate_for(&[0, 0]), Ok(0.0));
        assert!(matrix.flip_rate_for(&[1, 2, 3]).is_err());
    }
}
