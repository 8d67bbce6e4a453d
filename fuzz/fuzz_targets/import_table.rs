//! Import files (network units, members): any bytes through `read_table`, then
//! the header mapping and the row parsers of both imports.
//! Properties: never panics; a table has at most IMPORT_MAX_ROWS + 1 rows;
//! a CSV read back after writing it out again (every field quoted) is the same
//! table; parsed rows are numbered as in the file (2.., increasing), a cell that
//! starts with `=` never yields an accepted row.
#![no_main]

use boai_domain::members::{self, MemberType, DEFAULT_TYPES};
use boai_domain::network;
use boai_import::{read_csv, read_table, rows_from_table, ParsedRows, IMPORT_MAX_ROWS};
use chrono::NaiveDate;
use libfuzzer_sys::fuzz_target;

fn write_csv(table: &[Vec<String>]) -> String {
    let mut out = String::new();
    for row in table {
        let cells: Vec<String> = row.iter().map(|c| format!("\"{}\"", c.replace('"', "\"\""))).collect();
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    out
}

fn check_rows<T>(table_len: usize, rows: &ParsedRows<T>, formula_rows: &[usize]) {
    assert!(!rows.is_empty());
    assert!(rows.len() <= IMPORT_MAX_ROWS);
    let mut last = 1;
    for (n, _, parsed) in rows {
        assert!(*n > last && *n <= table_len, "row {n} after {last} of {table_len}");
        last = *n;
        if formula_rows.contains(n) {
            assert!(parsed.is_err(), "row {n} has a formula cell and was accepted");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(table) = read_table(data) else { return };
    assert!(table.len() <= IMPORT_MAX_ROWS + 2, "{} rows", table.len());
    if let Ok(text) = std::str::from_utf8(data) {
        if !data.starts_with(b"PK\x03\x04") && !data.starts_with(b"\xEF\xBB\xBF") {
            let again = read_csv(&write_csv(&table)).expect("written CSV reads back");
            assert_eq!(again, table, "CSV round trip of {text:?}");
        }
    }
    // Rows (1-based file numbers) holding a cell that starts with `=`.
    let formula_rows: Vec<usize> = table
        .iter()
        .enumerate()
        .skip(1)
        .filter(|(_, r)| r.iter().any(|c| c.trim_start().starts_with('=')))
        .map(|(i, _)| i + 1)
        .collect();
    if let Ok(rows) = rows_from_table(
        table.clone(),
        &network::IMPORT_COLUMNS,
        &network::IMPORT_REQUIRED,
        network::parse_import_row,
    ) {
        // Only cells under a known header are looked at.
        let header_all_known = table[0].iter().all(|h| !h.trim().is_empty());
        check_rows(table.len(), &rows, if header_all_known { &formula_rows } else { &[] });
        for (_, name, parsed) in &rows {
            if let Ok(row) = parsed {
                assert_eq!(&row.name, name);
                assert!(!row.name.is_empty() && !row.branch_code.is_empty());
            }
        }
    }
    let types: Vec<MemberType> = DEFAULT_TYPES
        .iter()
        .map(|(code, name, kind)| MemberType {
            code: (*code).to_owned(),
            name_zh: (*name).to_owned(),
            kind: *kind,
        })
        .collect();
    let today = NaiveDate::from_ymd_opt(2026, 6, 1).expect("date");
    if let Ok(rows) = rows_from_table(
        table.clone(),
        &members::IMPORT_COLUMNS,
        &members::IMPORT_REQUIRED,
        |cells| members::parse_import_row(cells, &types, today),
    ) {
        let header_all_known = table[0].iter().all(|h| !h.trim().is_empty());
        check_rows(table.len(), &rows, if header_all_known { &formula_rows } else { &[] });
        for (_, _, parsed) in &rows {
            if let Ok(row) = parsed {
                assert!(!row.unit_code.is_empty());
            }
        }
    }
});
