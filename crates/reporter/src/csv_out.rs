//! Writing rows as CSV with a fixed float precision, so identical results give identical bytes.
//!
//! Tables with fixed columns (`runs.csv`, `epochs.csv`, `calibration.csv`, `penultimate.csv`,
//! `best_epsilon.csv`, `auc.csv`) declare each column once, as a field of a serde struct: the
//! header is the struct's field names (as renamed by `#[serde(rename)]`), read from its
//! `Deserialize` impl, and rows go through the csv crate's serializer wrapped in [`SixDecimals`],
//! which writes every float as [`format_float`] does (only in CSV: the run rows keep full
//! precision in the JSON run records). The last two write a borrowed cells struct built from the
//! row, since some of their columns are computed from estimates. `summary.csv` and `paired.csv`
//! implement [`CsvRow`] by hand: their columns are generated from the metric list.

use std::fmt;
use std::io::Write;

use serde::de::{self, Deserialize, Deserializer, Visitor};
use serde::ser::{
    SerializeMap, SerializeSeq, SerializeStruct, SerializeStructVariant, SerializeTuple,
    SerializeTupleStruct, SerializeTupleVariant,
};
use serde::{Serialize, Serializer};

/// Decimal places of every float written to a CSV.
pub const FLOAT_DECIMALS: usize = 6;

/// A type written as one CSV row under a fixed header.
pub trait CsvRow {
    /// Column names, in order.
    fn header() -> Vec<String>;
    /// The row's cells, one per header column.
    fn record(&self) -> Vec<String>;
    /// Columns added after the table was first written, whose cells default when a table
    /// without them is read (their fields are `#[serde(default)]`).
    fn added_columns() -> &'static [&'static str] {
        &[]
    }
    /// Writes the row to `writer`: by default its [`record`](CsvRow::record); serde rows
    /// serialize themselves.
    fn write_row<W: Write>(&self, writer: &mut csv::Writer<W>) -> Result<(), csv::Error> {
        writer.write_record(self.record())
    }
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

/// A row serialized with every `f32`/`f64` (also inside `Option`) written as [`format_float`]
/// writes it; everything else is passed to the wrapped serializer unchanged.
pub(crate) struct SixDecimals<'a, T: ?Sized>(pub(crate) &'a T);

impl<T: Serialize + ?Sized> Serialize for SixDecimals<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(FloatCells(serializer))
    }
}

/// The serializer behind [`SixDecimals`]; wraps compound values so their elements get it too.
struct FloatCells<S>(S);

impl<S: Serializer> Serializer for FloatCells<S> {
    type Ok = S::Ok;
    type Error = S::Error;
    type SerializeSeq = FloatCells<S::SerializeSeq>;
    type SerializeTuple = FloatCells<S::SerializeTuple>;
    type SerializeTupleStruct = FloatCells<S::SerializeTupleStruct>;
    type SerializeTupleVariant = FloatCells<S::SerializeTupleVariant>;
    type SerializeMap = FloatCells<S::SerializeMap>;
    type SerializeStruct = FloatCells<S::SerializeStruct>;
    type SerializeStructVariant = FloatCells<S::SerializeStructVariant>;

    fn serialize_f64(self, v: f64) -> Result<S::Ok, S::Error> {
        self.0.serialize_str(&format_float(v))
    }
    fn serialize_f32(self, v: f32) -> Result<S::Ok, S::Error> {
        self.serialize_f64(f64::from(v))
    }
    fn serialize_bool(self, v: bool) -> Result<S::Ok, S::Error> {
        self.0.serialize_bool(v)
    }
    fn serialize_i8(self, v: i8) -> Result<S::Ok, S::Error> {
        self.0.serialize_i8(v)
    }
    fn serialize_i16(self, v: i16) -> Result<S::Ok, S::Error> {
        self.0.serialize_i16(v)
    }
    fn serialize_i32(self, v: i32) -> Result<S::Ok, S::Error> {
        self.0.serialize_i32(v)
    }
    fn serialize_i64(self, v: i64) -> Result<S::Ok, S::Error> {
        self.0.serialize_i64(v)
    }
    fn serialize_i128(self, v: i128) -> Result<S::Ok, S::Error> {
        self.0.serialize_i128(v)
    }
    fn serialize_u8(self, v: u8) -> Result<S::Ok, S::Error> {
        self.0.serialize_u8(v)
    }
    fn serialize_u16(self, v: u16) -> Result<S::Ok, S::Error> {
        self.0.serialize_u16(v)
    }
    fn serialize_u32(self, v: u32) -> Result<S::Ok, S::Error> {
        self.0.serialize_u32(v)
    }
    fn serialize_u64(self, v: u64) -> Result<S::Ok, S::Error> {
        self.0.serialize_u64(v)
    }
    fn serialize_u128(self, v: u128) -> Result<S::Ok, S::Error> {
        self.0.serialize_u128(v)
    }
    fn serialize_char(self, v: char) -> Result<S::Ok, S::Error> {
        self.0.serialize_char(v)
    }
    fn serialize_str(self, v: &str) -> Result<S::Ok, S::Error> {
        self.0.serialize_str(v)
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<S::Ok, S::Error> {
        self.0.serialize_bytes(v)
    }
    fn serialize_none(self) -> Result<S::Ok, S::Error> {
        self.0.serialize_none()
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<S::Ok, S::Error> {
        self.0.serialize_some(&SixDecimals(value))
    }
    fn serialize_unit(self) -> Result<S::Ok, S::Error> {
        self.0.serialize_unit()
    }
    fn serialize_unit_struct(self, name: &'static str) -> Result<S::Ok, S::Error> {
        self.0.serialize_unit_struct(name)
    }
    fn serialize_unit_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
    ) -> Result<S::Ok, S::Error> {
        self.0.serialize_unit_variant(name, index, variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        value: &T,
    ) -> Result<S::Ok, S::Error> {
        self.0.serialize_newtype_struct(name, &SixDecimals(value))
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<S::Ok, S::Error> {
        self.0
            .serialize_newtype_variant(name, index, variant, &SixDecimals(value))
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<Self::SerializeSeq, S::Error> {
        self.0.serialize_seq(len).map(FloatCells)
    }
    fn serialize_tuple(self, len: usize) -> Result<Self::SerializeTuple, S::Error> {
        self.0.serialize_tuple(len).map(FloatCells)
    }
    fn serialize_tuple_struct(
        self,
        name: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleStruct, S::Error> {
        self.0.serialize_tuple_struct(name, len).map(FloatCells)
    }
    fn serialize_tuple_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleVariant, S::Error> {
        self.0
            .serialize_tuple_variant(name, index, variant, len)
            .map(FloatCells)
    }
    fn serialize_map(self, len: Option<usize>) -> Result<Self::SerializeMap, S::Error> {
        self.0.serialize_map(len).map(FloatCells)
    }
    fn serialize_struct(
        self,
        name: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStruct, S::Error> {
        self.0.serialize_struct(name, len).map(FloatCells)
    }
    fn serialize_struct_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStructVariant, S::Error> {
        self.0
            .serialize_struct_variant(name, index, variant, len)
            .map(FloatCells)
    }
    fn is_human_readable(&self) -> bool {
        self.0.is_human_readable()
    }
}

/// Forwards a compound serializer whose elements are `(value)` (sequences, tuples) or
/// `(key, value)` (structs), wrapping each value in [`SixDecimals`].
macro_rules! float_cells_compound {
    ($($trait:ident :: $method:ident),+ $(,)?) => {$(
        impl<S: $trait> $trait for FloatCells<S> {
            type Ok = S::Ok;
            type Error = S::Error;
            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), S::Error> {
                self.0.$method(&SixDecimals(value))
            }
            fn end(self) -> Result<S::Ok, S::Error> {
                self.0.end()
            }
        }
    )+};
    ($($trait:ident),+ ; fields) => {$(
        impl<S: $trait> $trait for FloatCells<S> {
            type Ok = S::Ok;
            type Error = S::Error;
            fn serialize_field<T: Serialize + ?Sized>(
                &mut self,
                key: &'static str,
                value: &T,
            ) -> Result<(), S::Error> {
                self.0.serialize_field(key, &SixDecimals(value))
            }
            fn skip_field(&mut self, key: &'static str) -> Result<(), S::Error> {
                self.0.skip_field(key)
            }
            fn end(self) -> Result<S::Ok, S::Error> {
                self.0.end()
            }
        }
    )+};
}

float_cells_compound!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field,
);
float_cells_compound!(SerializeStruct, SerializeStructVariant; fields);

impl<S: SerializeMap> SerializeMap for FloatCells<S> {
    type Ok = S::Ok;
    type Error = S::Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), S::Error> {
        self.0.serialize_key(&SixDecimals(key))
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), S::Error> {
        self.0.serialize_value(&SixDecimals(value))
    }
    fn end(self) -> Result<S::Ok, S::Error> {
        self.0.end()
    }
}

/// The column names of a serde row struct: its field names as its `Deserialize` impl knows them
/// (renames applied, in declaration order), read without any data.
pub(crate) fn serde_header<'de, T: Deserialize<'de>>() -> Vec<String> {
    match T::deserialize(FieldNames) {
        Err(FieldList(Some(fields))) => fields.iter().map(|f| f.to_string()).collect(),
        _ => unreachable!("a CSV row type derives Deserialize as a plain struct"),
    }
}

/// The cells of a serde row, as the csv serializer writes them.
pub(crate) fn serde_record<T: Serialize>(row: &T) -> Vec<String> {
    let mut writer = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(Vec::new());
    writer
        .serialize(SixDecimals(row))
        .expect("a CSV row serializes into memory");
    let bytes = writer
        .into_inner()
        .expect("a CSV row serializes into memory");
    let record = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(bytes.as_slice())
        .records()
        .next()
        .expect("a serialized row is one record")
        .expect("a serialized row reads back");
    record.iter().map(String::from).collect()
}

/// Implements [`CsvRow`] for serde row structs: header from the field names, cells from the
/// serializer.
macro_rules! serde_csv_row {
    ($($row:ty $([added: $($added:literal),+])?),+ $(,)?) => {$(
        impl $crate::csv_out::CsvRow for $row {
            fn header() -> Vec<String> {
                $crate::csv_out::serde_header::<$row>()
            }
            $(
            fn added_columns() -> &'static [&'static str] {
                &[$($added),+]
            }
            )?
            fn record(&self) -> Vec<String> {
                $crate::csv_out::serde_record(self)
            }
            fn write_row<W: std::io::Write>(
                &self,
                writer: &mut csv::Writer<W>,
            ) -> Result<(), csv::Error> {
                writer.serialize($crate::csv_out::SixDecimals(self))
            }
        }
    )+};
}
pub(crate) use serde_csv_row;

/// A deserializer that only asks a struct for its field names.
struct FieldNames;

/// The "error" [`FieldNames`] ends with: the field names, when asked for a struct.
#[derive(Debug)]
struct FieldList(Option<&'static [&'static str]>);

impl fmt::Display for FieldList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not a struct")
    }
}

impl std::error::Error for FieldList {}

impl de::Error for FieldList {
    fn custom<T: fmt::Display>(_: T) -> Self {
        FieldList(None)
    }
}

impl<'de> Deserializer<'de> for FieldNames {
    type Error = FieldList;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, FieldList> {
        Err(FieldList(None))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, FieldList> {
        Err(FieldList(Some(fields)))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option
        unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier ignored_any
    }
}

/// Writes the header and `rows` to `out`. The header is written even without rows.
pub fn write_csv<W: Write, R: CsvRow>(out: W, rows: &[R]) -> Result<(), csv::Error> {
    let mut writer = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(out);
    writer.write_record(R::header())?;
    for row in rows {
        row.write_row(&mut writer)?;
    }
    writer.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

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

    #[derive(Serialize, Deserialize)]
    struct Fixed {
        a: f64,
        #[serde(rename = "bee")]
        b: Option<f64>,
        n: Option<usize>,
        text: String,
    }
    serde_csv_row!(Fixed);

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

    #[test]
    fn serde_rows_take_their_header_from_the_fields() {
        let rows = [
            Fixed {
                a: -0.0000001,
                b: None,
                n: None,
                text: "x, \"y\"".into(),
            },
            Fixed {
                a: 0.25,
                b: Some(2.0 / 3.0),
                n: Some(7),
                text: String::new(),
            },
        ];
        let mut out = Vec::new();
        write_csv(&mut out, &rows).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "a,bee,n,text\n0.000000,,,\"x, \"\"y\"\"\"\n0.250000,0.666667,7,\n"
        );
        assert_eq!(rows[1].record(), ["0.250000", "0.666667", "7", ""]);

        let mut out = Vec::new();
        write_csv::<_, Fixed>(&mut out, &[]).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "a,bee,n,text\n");

        // The header matches the one the csv serializer derives from the same fields.
        let mut writer = csv::Writer::from_writer(Vec::new());
        writer.serialize(SixDecimals(&rows[1])).unwrap();
        let bytes = writer.into_inner().unwrap();
        let first_line = String::from_utf8(bytes).unwrap();
        assert_eq!(
            first_line.lines().next().unwrap(),
            Fixed::header().join(",")
        );
    }
}
