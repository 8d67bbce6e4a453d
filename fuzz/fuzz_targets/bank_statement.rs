//! Bank statements: any bytes through `read_statement` with the built-in
//! layouts, plus the date and yuan readers it uses.
//! Properties: never panics; an accepted statement has lines, every line a
//! non-zero amount, a non-empty unique 流水号 of at most 64 characters and a
//! row number in the file (increasing); a date read back from its ISO form is
//! the same date; an amount written as yuan reads back as the same fen.
#![no_main]

use boai_domain::fundraising::reconciliation::{builtin_layouts, parse_bank_date};
use boai_domain::money::{parse_yuan, Fen};
use boai_import::read_statement;
use libfuzzer_sys::fuzz_target;
use std::collections::HashSet;

fn yuan_text(f: Fen) -> String {
    let abs = f.0.unsigned_abs();
    format!("{}.{:02}", abs / 100, abs % 100)
}

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        for cell in text.split([',', '\n']).take(64) {
            if let Some(date) = parse_bank_date(cell) {
                let iso = date.format("%Y-%m-%d").to_string();
                assert_eq!(parse_bank_date(&iso), Some(date), "{cell:?}");
            }
            if let Some(fen) = parse_yuan(cell) {
                assert!(fen.0 >= 0, "{cell:?} → {fen:?}");
                assert_eq!(parse_yuan(&yuan_text(fen)), Some(fen), "{cell:?}");
            }
        }
    }
    let layouts = builtin_layouts();
    let Ok(statement) = read_statement(data, &layouts) else { return };
    assert!(!statement.lines.is_empty());
    assert!(layouts.iter().any(|l| l.name == statement.layout));
    let mut seen = HashSet::new();
    let mut last_row = 1;
    for line in &statement.lines {
        assert_ne!(line.amount.0, 0);
        assert!(!line.reference.is_empty() && line.reference.chars().count() <= 64);
        assert!(seen.insert(line.reference.clone()), "duplicate {}", line.reference);
        assert!(line.row > last_row);
        last_row = line.row;
        assert!(line.counterparty.chars().count() <= 100);
        assert!(line.memo.chars().count() <= 200);
    }
});
