//! Tables as downloadable files: CSV (UTF-8, comma-separated, amounts as `1234.50`) and XLSX
//! (written by `rust_xlsxwriter`, amounts as numbers formatted to the cent), so the same table
//! opens in a spreadsheet and in a payroll or BI tool. One [`Table`] per sheet; a CSV holds
//! the first.
//!
//! Amounts stay [`Money`] up to the writer: a CSV carries their exact decimal text; an XLSX
//! cell is a number by the file format (a double, exact to the cent for any amount the system
//! accepts), with the `#,##0.00` format.

use axum::http::header;
use axum::response::{IntoResponse, Response};
use pos_domain::Money;
use rust_xlsxwriter::{Format, Workbook, XlsxError};

/// A cell of a table.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    Text(String),
    Count(i64),
    Amount(Money),
}

impl From<&str> for Cell {
    fn from(text: &str) -> Cell {
        Cell::Text(text.to_string())
    }
}

impl From<String> for Cell {
    fn from(text: String) -> Cell {
        Cell::Text(text)
    }
}

impl From<Money> for Cell {
    fn from(amount: Money) -> Cell {
        Cell::Amount(amount)
    }
}

impl From<i64> for Cell {
    fn from(count: i64) -> Cell {
        Cell::Count(count)
    }
}

/// A table: a sheet name, column titles and rows.
#[derive(Clone, Debug, Default)]
pub struct Table {
    /// At most 31 characters (an XLSX rule).
    pub name: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

/// A download format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileFormat {
    Csv,
    Xlsx,
}

impl FileFormat {
    pub fn parse(text: &str) -> Option<FileFormat> {
        match text {
            "csv" => Some(FileFormat::Csv),
            "xlsx" => Some(FileFormat::Xlsx),
            _ => None,
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            FileFormat::Csv => "csv",
            FileFormat::Xlsx => "xlsx",
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            FileFormat::Csv => "text/csv; charset=utf-8",
            FileFormat::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    }
}

/// Why a file could not be written (a server fault).
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("the CSV file cannot be written: {0}")]
    Csv(#[from] csv::Error),
    #[error("the XLSX file cannot be written: {0}")]
    Xlsx(#[from] XlsxError),
}

/// The first table as CSV.
pub fn csv(table: &Table) -> Result<Vec<u8>, RenderError> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(&table.columns)?;
    for row in &table.rows {
        writer.write_record(row.iter().map(|cell| match cell {
            Cell::Text(text) => inert(text),
            Cell::Count(n) => n.to_string(),
            Cell::Amount(amount) => amount.to_string(),
        }))?;
    }
    writer
        .into_inner()
        .map_err(|e| RenderError::Csv(e.into_error().into()))
}

/// A text cell a spreadsheet will not run: one starting like a formula (`=`, `+`, `-`, `@`, a
/// tab or a carriage return) gets a leading `'`. Texts come from tills and the catalog (product
/// labels, seller ids), so a label `=HYPERLINK(...)` must stay a label in the payroll office's
/// spreadsheet. A lone `-` (the key of sales without a seller) is no formula and stays as is.
/// (XLSX cells are written as strings, never formulas, so need no such care.)
fn inert(text: &str) -> String {
    if text.len() > 1 && text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_string()
    }
}

/// Every table as a sheet of one XLSX workbook.
pub fn xlsx(tables: &[Table]) -> Result<Vec<u8>, RenderError> {
    let mut workbook = Workbook::new();
    let bold = Format::new().set_bold();
    let cents = Format::new().set_num_format("#,##0.00");
    for table in tables {
        let sheet = workbook.add_worksheet();
        sheet.set_name(&table.name)?;
        for (col, title) in (0u16..).zip(&table.columns) {
            sheet.write_string_with_format(0, col, title, &bold)?;
        }
        for (row, cells) in (1u32..).zip(&table.rows) {
            for (col, cell) in (0u16..).zip(cells) {
                match cell {
                    Cell::Text(text) => sheet.write_string(row, col, text)?,
                    // Counts and cents are far below 2^53: exact as doubles.
                    Cell::Count(n) => sheet.write_number(row, col, *n as f64)?,
                    Cell::Amount(amount) => sheet.write_number_with_format(
                        row,
                        col,
                        amount.cents() as f64 / 100.0,
                        &cents,
                    )?,
                };
            }
        }
        sheet.autofit();
    }
    Ok(workbook.save_to_buffer()?)
}

/// The tables as a download named `stem.csv` or `stem.xlsx` (the CSV holds the first table).
pub fn download(format: FileFormat, stem: &str, tables: &[Table]) -> Result<Response, RenderError> {
    let bytes = match format {
        FileFormat::Csv => csv(tables.first().unwrap_or(&Table::default()))?,
        FileFormat::Xlsx => xlsx(tables)?,
    };
    let name: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    Ok((
        [
            (header::CONTENT_TYPE, format.content_type().to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}.{}\"", format.extension()),
            ),
        ],
        bytes,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Table {
        Table {
            name: "Ventes".into(),
            columns: vec!["shop".into(), "tickets".into(), "amount".into()],
            rows: vec![vec![
                "PARIS, Opéra".into(),
                3i64.into(),
                Money::from_cents(123_450).into(),
            ]],
        }
    }

    #[test]
    fn a_csv_carries_the_exact_amounts_and_quotes_what_needs_it() {
        let text = String::from_utf8(csv(&table()).unwrap()).unwrap();
        assert_eq!(
            text, "shop,tickets,amount\n\"PARIS, Opéra\",3,1234.50\n",
            "exact decimal text"
        );
    }

    #[test]
    fn a_text_that_looks_like_a_formula_stays_text_in_a_csv() {
        let table = Table {
            name: "Lignes".into(),
            columns: vec!["label".into(), "base".into()],
            rows: vec![vec![
                "=HYPERLINK(\"http://x\")".into(),
                Money::from_cents(-150).into(),
            ]],
        };
        let text = String::from_utf8(csv(&table).unwrap()).unwrap();
        assert_eq!(
            text, "label,base\n\"'=HYPERLINK(\"\"http://x\"\")\",-1.50\n",
            "a formula-like text is prefixed, a negative amount is not"
        );
    }

    #[test]
    fn an_xlsx_is_a_zip_workbook() {
        let bytes = xlsx(&[table()]).unwrap();
        assert!(bytes.starts_with(b"PK"), "an XLSX file is a ZIP archive");
    }
}
