//! The crate's one error type: why labels could not be corrupted, a matrix or class map not
//! built, or a label file not read.
//!
//! Rows and columns of a transition matrix are named both ways in messages: "row 3 (clean class
//! 2)" is the third row, 1-based as a user counts lines, holding clean class 2, 0-based as labels
//! are. Fields hold the 0-based class index.

/// Why labels could not be corrupted, or a noise source not built.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum NoiseError {
    /// The rate is not a probability.
    #[error("noise rate {rate} is outside [0, 1]")]
    RateOutOfRange {
        /// The offending rate.
        rate: f64,
    },
    /// Noise needs at least two classes to flip between.
    #[error("noise needs at least 2 classes, got {n_classes}")]
    TooFewClasses {
        /// The number of classes given.
        n_classes: usize,
    },
    /// A clean label is not a valid class index.
    #[error("label {label} at index {index} is outside the {n_classes} classes")]
    LabelOutOfRange {
        /// Position of the label in the input slice.
        index: usize,
        /// The offending label.
        label: usize,
        /// The number of classes.
        n_classes: usize,
    },
    /// A row of a transition matrix does not have one entry per class.
    #[error(
        "row {} (clean class {row}) has {len} entries; a matrix with {n_classes} rows needs \
         {n_classes} in every row",
        row + 1
    )]
    MatrixRowLength {
        /// The clean class (0-based) of the row.
        row: usize,
        /// The number of entries it has.
        len: usize,
        /// The number of rows, hence of classes.
        n_classes: usize,
    },
    /// An entry of a transition matrix is negative, NaN or infinite.
    #[error(
        "row {} (clean class {row}), column {} (noisy class {column}): {value} is not a \
         probability; entries must be finite and non-negative",
        row + 1,
        column + 1
    )]
    MatrixEntry {
        /// The clean class (0-based) of the row.
        row: usize,
        /// The noisy class (0-based) of the column.
        column: usize,
        /// The offending entry.
        value: f64,
    },
    /// A row of a transition matrix does not sum to 1.
    #[error("row {} (clean class {row}) sums to {sum}, not 1 (tolerance 1e-6)", row + 1)]
    MatrixRowSum {
        /// The clean class (0-based) of the row.
        row: usize,
        /// The row's sum.
        sum: f64,
    },
    /// A line of a matrix CSV is not a comma-separated list of numbers.
    #[error("matrix CSV line {line}: {message}")]
    MatrixCsv {
        /// The 1-based line of the text.
        line: usize,
        /// What is wrong with it.
        message: String,
    },
    /// A matrix read from CSV failed validation; `line` is the line holding the offending row.
    #[error("matrix CSV line {line}: {source}")]
    MatrixCsvRow {
        /// The 1-based line of the text.
        line: usize,
        /// The validation error.
        source: Box<NoiseError>,
    },
    /// Two label vectors that should pair up have different lengths.
    #[error("{clean} clean labels but {noisy} noisy ones; they must pair up one to one")]
    LengthMismatch {
        /// The number of clean labels.
        clean: usize,
        /// The number of noisy labels.
        noisy: usize,
    },
    /// A class-map pair names a class outside `0..n_classes`.
    #[error(
        "class pair {clean}→{noisy} names a class outside the {n_classes} classes (0 to {})",
        n_classes.saturating_sub(1)
    )]
    ClassPairOutOfRange {
        /// The clean class of the pair.
        clean: usize,
        /// The destination of the pair.
        noisy: usize,
        /// The number of classes.
        n_classes: usize,
    },
    /// A class-map pair sends a class to itself.
    #[error("class pair {class}→{class} maps a class to itself; a flip must change the class")]
    ClassPairToSelf {
        /// The class.
        class: usize,
    },
    /// A class is mapped to two destinations.
    #[error(
        "class {clean} has two destinations, {clean}→{first} and {clean}→{second}; each class \
         may be mapped at most once"
    )]
    ClassPairConflict {
        /// The clean class mapped twice.
        clean: usize,
        /// Its first destination.
        first: usize,
        /// Its second destination.
        second: usize,
    },
    /// A preset class map was applied to data with another number of classes.
    #[error("noise model `{model}` needs exactly {required} classes, the data has {n_classes}")]
    PresetClassCount {
        /// The model's name.
        model: &'static str,
        /// The number of classes the preset is defined for.
        required: usize,
        /// The number of classes given.
        n_classes: usize,
    },
    /// The features given to instance-dependent noise do not form `n_samples × n_features`.
    #[error(
        "{len} feature values for {n_samples} samples of {n_features} features; expected \
         n_samples · n_features = {} values, with at least one feature",
        n_samples * n_features
    )]
    FeatureShape {
        /// The length of the feature slice.
        len: usize,
        /// The number of samples (clean labels).
        n_samples: usize,
        /// The number of features per sample.
        n_features: usize,
    },
    /// A feature value is NaN or infinite.
    #[error("feature {feature} of sample {sample} is {value}; features must be finite")]
    FeatureNotFinite {
        /// The sample (0-based).
        sample: usize,
        /// The feature (0-based).
        feature: usize,
        /// The offending value.
        value: f32,
    },
    /// The spread of the per-sample flip rates is not a finite non-negative number.
    #[error("flip-rate standard deviation {std} must be finite and non-negative")]
    FlipRateStd {
        /// The offending standard deviation.
        std: f64,
    },
    /// A labels CSV is malformed.
    #[error("labels CSV line {line}, column `{column}`: {message}")]
    LabelCsv {
        /// The 1-based line of the text (1 is the header).
        line: u64,
        /// The column concerned (`row` or a label column; empty when the line as a whole is bad).
        column: String,
        /// What is wrong.
        message: String,
    },
    /// A `.npy` label array is malformed.
    #[error("npy labels: {message}")]
    Npy {
        /// What is wrong.
        message: String,
    },
    /// A label file does not have one row per sample of the source data.
    #[error("the label file has {file} rows but the source data has {source_len} samples")]
    FileRowCount {
        /// The number of rows in the file.
        file: usize,
        /// The number of samples in the source data.
        source_len: usize,
    },
    /// A label read from a file is not a class of the data.
    #[error("the file's label {label} at row {row} is outside the {n_classes} classes")]
    FileLabelOutOfRange {
        /// The row (sample index in the source data).
        row: usize,
        /// The offending label.
        label: usize,
        /// The number of classes.
        n_classes: usize,
    },
    /// A selected row index is not a row of the source data.
    #[error("row index {row} at position {index} is outside the source's {n_rows} rows")]
    RowOutOfRange {
        /// Position in the slice of selected rows.
        index: usize,
        /// The offending row index.
        row: usize,
        /// The number of rows in the source.
        n_rows: usize,
    },
}
