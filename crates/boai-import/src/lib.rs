//! Uploaded spreadsheets into cells and rows, shared by every import (network
//! units, members) and by bank statements. Pure functions over bytes (no I/O),
//! so `fuzz/` drives them directly. The rules:
//! - a file is read whole and judged whole: empty, over [`IMPORT_MAX_BYTES`],
//!   over [`IMPORT_MAX_ROWS`] data rows, legacy .xls, undecodable text, a sheet
//!   with formulas or merged cells, or more than 64 columns is refused with a
//!   Chinese reason and yields no rows at all;
//! - .xlsx is recognised by its first bytes (a zip), anything else is CSV
//!   (RFC 4180) in UTF-8 (BOM optional) or, when not UTF-8, GBK;
//! - only the first sheet is read; cells come back as text (whole floats
//!   without `.0`, dates as `YYYY-MM-DD`, error cells as `=#…` so that the
//!   row parsers refuse them like formulas);
//! - [`rows_from_table`] maps the header row (key or 中文 name) to known
//!   columns, refusing unknown, duplicate or missing required ones, and numbers
//!   data rows as in the file (header = row 1), skipping blank rows;
//! - an .xlsx is checked before it is read ([`guard`]): declared dimension,
//!   decompressed sizes, shared strings and formulas bounded, so a small
//!   hostile file cannot make the reader allocate gigabytes;
//! - never panics, whatever the bytes (fuzzed: `fuzz/fuzz_targets/import_table.rs`,
//!   `bank_statement.rs`).

use boai_domain::fundraising::reconciliation::{parse_statement, BankLayout, Statement};
use boai_domain::network::{parse_import_row, UnitImportRow, IMPORT_COLUMNS, IMPORT_REQUIRED};
use std::io::Cursor;

pub mod guard;

/// The largest import file accepted.
pub const IMPORT_MAX_BYTES: usize = 5 * 1024 * 1024;
/// The most data rows one import may hold.
pub const IMPORT_MAX_ROWS: usize = 5_000;

/// Rows read from an import file: (file row number, name, parsed row or its problems).
pub type ParsedRows<T> = Vec<(usize, String, Result<T, Vec<String>>)>;

/// The rows of an import, ready for the store: (file row number, name, parsed).
pub type ImportRows = Vec<(usize, String, Result<UnitImportRow, Vec<String>>)>;

/// Reads an import file (.xlsx by its first bytes, otherwise CSV in UTF-8 or
/// GBK) into validated rows, or says why the file as a whole is refused.
pub fn read_import(bytes: &[u8]) -> Result<ImportRows, String> {
    rows_from_table(read_table(bytes)?, &IMPORT_COLUMNS, &IMPORT_REQUIRED, parse_import_row)
}

/// Reads any import file into its cells (.xlsx by its first bytes, otherwise
/// CSV in UTF-8 or GBK), refusing empty, oversized, legacy .xls, merged-cell
/// and formula sheets. Shared by every import (units, members).
pub fn read_table(bytes: &[u8]) -> Result<Vec<Vec<String>>, String> {
    if bytes.is_empty() {
        return Err("文件为空".to_owned());
    }
    if bytes.len() > IMPORT_MAX_BYTES {
        return Err(format!("文件过大 (不超过 {} MB)", IMPORT_MAX_BYTES / 1024 / 1024));
    }
    if bytes.starts_with(b"PK\x03\x04") {
        read_xlsx(bytes)
    } else if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        Err("不支持旧版 .xls 文件, 请另存为 .xlsx 或 .csv".to_owned())
    } else {
        read_csv(&decode_text(bytes)?)
    }
}

/// UTF-8 (with or without BOM) or, when the bytes are not UTF-8, GBK.
pub fn decode_text(bytes: &[u8]) -> Result<String, String> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Ok(text.to_owned());
    }
    let (text, had_errors) = encoding_rs::GBK.decode_without_bom_handling(bytes);
    if had_errors {
        return Err("无法识别文件编码 (应为 UTF-8 或 GBK 的 CSV, 或 .xlsx)".to_owned());
    }
    Ok(text.into_owned())
}

/// RFC 4180 CSV: commas, double quotes (doubled inside), CRLF or LF.
pub fn read_csv(text: &str) -> Result<Vec<Vec<String>>, String> {
    if text.contains('\0') {
        return Err("文件不是文本 CSV".to_owned());
    }
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    field.push('"');
                    chars.next();
                }
                '"' => quoted = false,
                c => field.push(c),
            }
            continue;
        }
        match c {
            '"' if field.is_empty() => quoted = true,
            ',' => row.push(std::mem::take(&mut field)),
            '\r' => {}
            '\n' => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
                if rows.len() > IMPORT_MAX_ROWS + 1 {
                    return Err(format!("行数过多 (每次不超过 {IMPORT_MAX_ROWS} 行)"));
                }
            }
            c => field.push(c),
        }
    }
    if quoted {
        return Err("CSV 引号不配对".to_owned());
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    Ok(rows)
}

/// The first sheet of an .xlsx as text cells, after [`guard`]'s checks.
pub fn read_xlsx(bytes: &[u8]) -> Result<Vec<Vec<String>>, String> {
    use calamine::{Data, Reader, Xlsx};
    let bad = |e: calamine::XlsxError| format!("无法读取 Excel 文件: {e}");
    guard::check_package(bytes)?;
    let mut book = Xlsx::new(Cursor::new(bytes)).map_err(bad)?;
    let name = book
        .sheet_names()
        .first()
        .cloned()
        .ok_or_else(|| "Excel 文件没有工作表".to_owned())?;
    if let Some(merged) = book.worksheet_merge_cells(&name) {
        if !merged.map_err(bad)?.is_empty() {
            return Err("工作表含有合并单元格, 请取消合并后再导入".to_owned());
        }
    }
    guard::check_sheet(&mut book, &name)?;
    let range = book.worksheet_range(&name).map_err(bad)?;
    if range.height() > IMPORT_MAX_ROWS + 1 {
        return Err(format!("行数过多 (每次不超过 {IMPORT_MAX_ROWS} 行)"));
    }
    if range.width() > guard::MAX_COLUMNS as usize {
        return Err("列数过多, 请使用导入模板".to_owned());
    }
    let mut out = Vec::new();
    for row in range.rows() {
        out.push(
            row.iter()
                .map(|cell| match cell {
                    Data::Empty => String::new(),
                    Data::String(s) => s.clone(),
                    Data::Int(i) => i.to_string(),
                    Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
                    Data::Float(f) => f.to_string(),
                    Data::Bool(b) => b.to_string(),
                    Data::DateTime(d) => d
                        .as_datetime()
                        .map(|d| d.date().format("%Y-%m-%d").to_string())
                        .unwrap_or_default(),
                    Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
                    Data::Error(e) => format!("=#{e:?}"),
                })
                .collect(),
        );
    }
    // A sheet whose used range starts below or right of A1 still has its
    // header in the first used row; columns are matched by header text.
    Ok(out)
}

/// Maps the header row to `columns` (key, 中文 header; either names a
/// column), checks the `required` ones are there, and validates every data
/// row with `parse`, numbering rows as in the file.
pub fn rows_from_table<T>(
    table: Vec<Vec<String>>,
    columns_known: &[(&'static str, &'static str)],
    required: &[&'static str],
    parse: impl Fn(&[(&str, String)]) -> Result<T, Vec<String>>,
) -> Result<ParsedRows<T>, String> {
    let mut rows = table.into_iter().enumerate();
    let Some((_, header)) = rows.next() else {
        return Err("文件没有表头行".to_owned());
    };
    let mut columns: Vec<Option<&'static str>> = Vec::with_capacity(header.len());
    let mut unknown = Vec::new();
    for h in &header {
        let h = h.trim();
        if h.is_empty() {
            columns.push(None);
            continue;
        }
        match columns_known.iter().find(|(key, zh)| *zh == h || *key == h) {
            Some((key, _)) if columns.contains(&Some(*key)) => return Err(format!("表头列重复: {h}")),
            Some((key, _)) => columns.push(Some(*key)),
            None => {
                unknown.push(h.to_owned());
                columns.push(None);
            }
        }
    }
    if !unknown.is_empty() {
        return Err(format!("表头含有未知的列: {} (请使用导入模板)", unknown.join("、")));
    }
    let missing: Vec<&str> = required
        .iter()
        .filter(|k| !columns.contains(&Some(**k)))
        .filter_map(|k| columns_known.iter().find(|(key, _)| key == k).map(|(_, zh)| *zh))
        .collect();
    if !missing.is_empty() {
        return Err(format!("表头缺少必填列: {}", missing.join("、")));
    }
    let mut out = Vec::new();
    for (i, cells) in rows {
        if cells.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        if cells.len() > columns.len() && cells[columns.len()..].iter().any(|c| !c.trim().is_empty()) {
            out.push((i + 1, String::new(), Err(vec!["该行的列数多于表头".to_owned()])));
            continue;
        }
        let pairs: Vec<(&str, String)> = columns
            .iter()
            .zip(cells.iter())
            .filter_map(|(k, v)| k.map(|k| (k, v.clone())))
            .collect();
        let name = pairs
            .iter()
            .find(|(k, _)| *k == "name")
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_default();
        out.push((i + 1, name, parse(&pairs)));
        if out.len() > IMPORT_MAX_ROWS {
            return Err(format!("行数过多 (每次不超过 {IMPORT_MAX_ROWS} 行)"));
        }
    }
    if out.is_empty() {
        return Err("文件没有数据行".to_owned());
    }
    Ok(out)
}

/// Reads a bank statement file (.xlsx or CSV, through [`read_table`]) and
/// parses it with the layouts; refused whole when no layout fits or any line
/// is broken.
pub fn read_statement(bytes: &[u8], layouts: &[BankLayout]) -> Result<Statement, String> {
    parse_statement(&read_table(bytes)?, layouts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn write_csv(table: &[Vec<String>]) -> String {
        table
            .iter()
            .map(|row| {
                row.iter()
                    .map(|c| format!("\"{}\"", c.replace('"', "\"\"")))
                    .collect::<Vec<_>>()
                    .join(",")
                    + "\n"
            })
            .collect()
    }

    proptest! {
        // The fuzz target's round trip, in the normal test suite.
        #[test]
        fn csv_read_back_after_writing_is_the_same(text in "[a-c,\"\r\n 名]{0,40}") {
            if let Ok(table) = read_csv(&text) {
                prop_assert_eq!(read_csv(&write_csv(&table)), Ok(table));
            }
        }

        #[test]
        fn any_bytes_are_read_or_refused(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = read_table(&bytes);
            let mut zip = b"PK\x03\x04".to_vec();
            zip.extend(&bytes);
            prop_assert!(read_table(&zip).is_err());
        }
    }

    #[test]
    fn csv_quotes_commas_and_crlf() {
        let rows = read_csv("a,\"b,\"\"c\"\"\"\r\n1,2\n").unwrap_or_default();
        assert_eq!(
            rows,
            vec![
                vec!["a".to_owned(), "b,\"c\"".to_owned()],
                vec!["1".to_owned(), "2".to_owned()]
            ]
        );
        assert!(read_csv("\"open").is_err());
    }

    #[test]
    fn gbk_is_detected_when_not_utf8() {
        let (gbk, _, _) = encoding_rs::GBK.encode("名称,所属区县代码,类型\n历下社区,JN-LX,社区\n");
        assert!(std::str::from_utf8(&gbk).is_err());
        let text = decode_text(&gbk).unwrap_or_default();
        assert!(text.starts_with("名称,所属区县代码"));
        assert_eq!(decode_text("\u{feff}名称".as_bytes()).as_deref(), Ok("名称"));
    }

    #[test]
    fn wrong_columns_are_refused_whole() {
        let err = read_import("name,colour\nx,red\n".as_bytes()).err().unwrap_or_default();
        assert!(err.contains("colour"), "{err}");
        let err = read_import("名称,类型\nx,社区\n".as_bytes()).err().unwrap_or_default();
        assert!(err.contains("所属区县代码"), "{err}");
        assert!(read_import(b"").is_err());
        assert!(read_import("名称,所属区县代码,类型\n".as_bytes()).is_err());
    }

    #[test]
    fn rows_are_numbered_as_in_the_file() {
        let rows = read_import("名称,所属区县代码,类型\n甲,JN-LX,社区\n\n乙,,学校\n".as_bytes()).unwrap_or_default();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].0, 2);
        assert!(rows[0].2.is_ok());
        assert_eq!(rows[1].0, 4);
        assert!(rows[1].2.is_err());
    }
}
