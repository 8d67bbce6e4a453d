//! One Excel (.xlsx) export shared by every list page.
//!
//! Rules: the caller builds a [`Sheet`] of typed [`Cell`]s and never formats
//! numbers or dates itself. Header row is bold, filled and frozen. Money is
//! stored as integer fen and written as the number `fen / 100` formatted
//! `¥#,##0.00`; dates are real Excel dates (`yyyy-mm-dd`); timestamps are UTC
//! in, China time (UTC+8) out (`yyyy-mm-dd hh:mm:ss`). Text is always a text
//! cell (never a formula, so `=…` cannot execute). Values Excel cannot hold
//! exactly (integers over 15 digits, dates outside 1900–9999, text over 32,767
//! characters) degrade to text instead of failing the whole export. Column
//! widths are fitted with a CJK-aware estimate. The sheet name is sanitised to
//! Excel's rules. Downloads use [`XLSX_CONTENT_TYPE`] and
//! [`content_disposition`].

use crate::components::chart::is_wide;
use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Timelike, Utc};
use rust_xlsxwriter::{Color, ExcelDateTime, Format, FormatBorder, FormatPattern, Workbook, Worksheet, XlsxError};

/// `Content-Type` of the bytes returned by [`to_xlsx`].
pub const XLSX_CONTENT_TYPE: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// One typed cell value.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Int(i64),
    /// Money in fen (1/100 yuan).
    Fen(i64),
    Date(NaiveDate),
    /// Stored in UTC, shown in China time (UTC+8).
    DateTime(DateTime<Utc>),
    Empty,
}

/// One worksheet: a header row of column titles and data rows below it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sheet {
    /// Worksheet tab name; sanitised to Excel's rules when written.
    pub name: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("xlsx export failed: {0}")]
    Xlsx(#[from] XlsxError),
    #[error("export too large for one Excel sheet: {rows} data rows, {columns} columns")]
    TooLarge { rows: usize, columns: usize },
}

/// Excel's sheet limits (rows include the header row).
const MAX_ROWS: usize = 1_048_576;
const MAX_COLS: usize = 16_384;
/// Excel's cell text limit, in characters.
const MAX_TEXT_CHARS: usize = 32_767;
/// Largest magnitude Excel shows exactly (15 significant digits).
const MAX_EXACT: i64 = 999_999_999_999_999;
const MAX_SHEET_NAME_CHARS: usize = 31;
const DEFAULT_SHEET_NAME: &str = "Sheet1";

const FEN_FORMAT: &str = "¥#,##0.00";
const DATE_FORMAT: &str = "yyyy-mm-dd";
const DATETIME_FORMAT: &str = "yyyy-mm-dd hh:mm:ss";
/// China Standard Time offset from UTC, in seconds (no DST).
const CHINA_OFFSET_SECS: i64 = 8 * 3600;

/// Column width estimate, in pixels at Excel's default font.
const NARROW_PX: u32 = 8;
const WIDE_PX: u32 = 15;
const PAD_PX: u32 = 14;
const MIN_COL_PX: u32 = 48;
const MAX_COL_PX: u32 = 420;

/// Write `sheet` as a one-sheet .xlsx workbook and return its bytes.
///
/// # Errors
///
/// [`ExportError::TooLarge`] past Excel's 1,048,576 rows / 16,384 columns;
/// [`ExportError::Xlsx`] if the writer fails.
pub fn to_xlsx(sheet: &Sheet) -> Result<Vec<u8>, ExportError> {
    let width = sheet
        .rows
        .iter()
        .map(Vec::len)
        .chain(std::iter::once(sheet.columns.len()))
        .max()
        .unwrap_or(0);
    if sheet.rows.len() >= MAX_ROWS || width > MAX_COLS {
        return Err(ExportError::TooLarge {
            rows: sheet.rows.len(),
            columns: width,
        });
    }

    let header = Format::new()
        .set_bold()
        .set_pattern(FormatPattern::Solid)
        .set_background_color(Color::RGB(0xF4_DCDC))
        .set_border_bottom(FormatBorder::Thin);
    let fen = Format::new().set_num_format(FEN_FORMAT);
    let date = Format::new().set_num_format(DATE_FORMAT);
    let datetime = Format::new().set_num_format(DATETIME_FORMAT);

    let mut workbook = Workbook::new();
    let ws = workbook.add_worksheet();
    ws.set_name(sanitize_sheet_name(&sheet.name))?;

    let mut widths = vec![0_u32; width];
    for (c, title) in sheet.columns.iter().enumerate() {
        let text = clip_text(title);
        ws.write_string_with_format(0, col(c)?, text, &header)?;
        // Bold is a little wider.
        widths[c] = widths[c].max(text_px(text) * 11 / 10);
    }

    for (r, cells) in sheet.rows.iter().enumerate() {
        let row = row(r + 1)?;
        for (c, cell) in cells.iter().enumerate() {
            let shown = write_cell(ws, row, col(c)?, cell, &fen, &date, &datetime)?;
            widths[c] = widths[c].max(shown);
        }
    }

    if !sheet.columns.is_empty() {
        ws.set_freeze_panes(1, 0)?;
    }
    for (c, px) in widths.iter().enumerate() {
        let px = (px + PAD_PX).clamp(MIN_COL_PX, MAX_COL_PX);
        ws.set_column_width_pixels(col(c)?, u16::try_from(px).unwrap_or(u16::MAX))?;
    }

    Ok(workbook.save_to_buffer()?)
}

/// Write one cell and return the estimated pixel width of what Excel shows.
fn write_cell(
    ws: &mut Worksheet,
    row: u32,
    col: u16,
    cell: &Cell,
    fen: &Format,
    date: &Format,
    datetime: &Format,
) -> Result<u32, ExportError> {
    let shown = match cell {
        Cell::Empty => 0,
        Cell::Text(s) => {
            let s = clip_text(s);
            if !s.is_empty() {
                ws.write_string(row, col, s)?;
            }
            text_px(s)
        }
        Cell::Int(v) => {
            let s = v.to_string();
            if v.unsigned_abs() <= MAX_EXACT.unsigned_abs() {
                ws.write_number(row, col, *v as f64)?;
            } else {
                ws.write_string(row, col, &s)?;
            }
            text_px(&s)
        }
        Cell::Fen(v) => {
            let s = fen_text(*v);
            if v.unsigned_abs() <= MAX_EXACT.unsigned_abs() {
                ws.write_number_with_format(row, col, (*v as f64) / 100.0, fen)?;
            } else {
                ws.write_string(row, col, &s)?;
            }
            text_px(&s)
        }
        Cell::Date(d) => {
            match excel_date(*d) {
                Some(x) => ws.write_datetime_with_format(row, col, x, date)?,
                None => ws.write_string(row, col, d.format("%Y-%m-%d").to_string())?,
            };
            text_px("2026-01-01")
        }
        Cell::DateTime(t) => {
            match china_local(*t) {
                Some(local) => match excel_datetime(local) {
                    Some(x) => ws.write_datetime_with_format(row, col, x, datetime)?,
                    None => ws.write_string(row, col, local.format("%Y-%m-%d %H:%M:%S").to_string())?,
                },
                None => ws.write_string(row, col, t.format("%Y-%m-%d %H:%M:%S UTC").to_string())?,
            };
            text_px("2026-01-01 00:00:00")
        }
    };
    Ok(shown)
}

fn row(i: usize) -> Result<u32, ExportError> {
    u32::try_from(i).map_err(|_| ExportError::TooLarge { rows: i, columns: 0 })
}

fn col(i: usize) -> Result<u16, ExportError> {
    u16::try_from(i).map_err(|_| ExportError::TooLarge { rows: 0, columns: i })
}

/// UTC instant → naive China wall-clock time.
fn china_local(t: DateTime<Utc>) -> Option<NaiveDateTime> {
    t.naive_utc()
        .checked_add_signed(chrono::Duration::try_seconds(CHINA_OFFSET_SECS)?)
}

fn excel_date(d: NaiveDate) -> Option<ExcelDateTime> {
    let year = u16::try_from(d.year()).ok().filter(|y| (1900..=9999).contains(y))?;
    let month = u8::try_from(d.month()).ok()?;
    let day = u8::try_from(d.day()).ok()?;
    ExcelDateTime::from_ymd(year, month, day).ok()
}

/// Whole seconds: fractions are dropped so the shown time never rounds up.
fn excel_datetime(t: NaiveDateTime) -> Option<ExcelDateTime> {
    let hour = u16::try_from(t.hour()).ok()?;
    let min = u8::try_from(t.minute()).ok()?;
    let sec = t.second().min(59);
    excel_date(t.date())?.and_hms(hour, min, sec).ok()
}

/// Text limited to Excel's 32,767 characters.
fn clip_text(s: &str) -> &str {
    match s.char_indices().nth(MAX_TEXT_CHARS) {
        Some((byte, _)) => &s[..byte],
        None => s,
    }
}

/// `123456` → `"¥1,234.56"` (same look as [`FEN_FORMAT`]).
fn fen_text(fen: i64) -> String {
    boai_domain::Fen(fen).display_yuan()
}

/// Estimated display width in pixels of the widest line of `s`: CJK and
/// full-width characters count about twice a Latin character.
fn text_px(s: &str) -> u32 {
    s.lines()
        .map(|line| {
            line.chars()
                .take(300)
                .map(|c| if is_wide(c) { WIDE_PX } else { NARROW_PX })
                .sum::<u32>()
        })
        .max()
        .unwrap_or(0)
}

/// Make `name` a legal Excel sheet name: `[]:*?/\` and control characters
/// become `_`, no leading/trailing apostrophe or blanks, at most 31
/// characters, never empty, never the reserved "History".
fn sanitize_sheet_name(name: &str) -> String {
    let replaced: String = name
        .chars()
        .map(|c| {
            if matches!(c, '[' | ']' | ':' | '*' | '?' | '/' | '\\') || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect();
    let trimmed = replaced.trim_matches(|c: char| c == '\'' || c.is_whitespace());
    let cut: String = trimmed.chars().take(MAX_SHEET_NAME_CHARS).collect();
    let cut = cut.trim_end_matches(|c: char| c == '\'' || c.is_whitespace());
    if cut.is_empty() || cut.eq_ignore_ascii_case("history") {
        DEFAULT_SHEET_NAME.to_owned()
    } else {
        cut.to_owned()
    }
}

/// `Content-Disposition` for an .xlsx download named `<filename_stem>.xlsx`:
/// an ASCII fallback `export.xlsx` plus the real (e.g. Chinese) name as an
/// RFC 5987/6266 `filename*`. The result is plain ASCII, valid as a header.
#[must_use]
pub fn content_disposition(filename_stem: &str) -> String {
    let stem = filename_stem.trim();
    let stem = if stem.is_empty() { "export" } else { stem };
    format!(
        "attachment; filename=\"export.xlsx\"; filename*=UTF-8''{}.xlsx",
        percent_encode_attr(stem)
    )
}

/// Percent-encode every byte outside RFC 5987's `attr-char` set.
fn percent_encode_attr(s: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(s.len() * 3);
    for &b in s.as_bytes() {
        let keep = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'!' | b'#' | b'$' | b'&' | b'+' | b'-' | b'.' | b'^' | b'_' | b'`' | b'|' | b'~'
            );
        if keep {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0x0F)]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use calamine::{open_workbook_from_rs, Data, DataType, Reader, Xlsx};
    use chrono::TimeZone;
    use std::io::Cursor;

    fn read_back(bytes: Vec<u8>) -> (Vec<String>, calamine::Range<Data>) {
        let mut wb: Xlsx<_> = open_workbook_from_rs(Cursor::new(bytes)).unwrap();
        let names = wb.sheet_names();
        let range = wb.worksheet_range(&names[0]).unwrap();
        (names, range)
    }

    fn sample() -> Sheet {
        Sheet {
            name: "捐赠记录".to_owned(),
            columns: vec![
                "捐赠人".to_owned(),
                "笔数".to_owned(),
                "金额".to_owned(),
                "日期".to_owned(),
                "登记时间".to_owned(),
                "备注".to_owned(),
            ],
            rows: vec![
                vec![
                    Cell::Text("张三".to_owned()),
                    Cell::Int(3),
                    Cell::Fen(123_456),
                    Cell::Date(NaiveDate::from_ymd_opt(2026, 1, 15).unwrap()),
                    Cell::DateTime(Utc.with_ymd_and_hms(2026, 1, 15, 18, 30, 5).unwrap()),
                    Cell::Empty,
                ],
                vec![
                    Cell::Text("=1+1".to_owned()),
                    Cell::Int(-42),
                    Cell::Fen(-5),
                    Cell::Date(NaiveDate::from_ymd_opt(2025, 12, 31).unwrap()),
                    Cell::DateTime(Utc.with_ymd_and_hms(2025, 12, 31, 23, 59, 59).unwrap()),
                    Cell::Text("北京市红十字会".to_owned()),
                ],
                vec![Cell::Text("李四".to_owned())],
            ],
        }
    }

    #[test]
    fn round_trips_through_calamine() {
        let bytes = to_xlsx(&sample()).unwrap();
        assert_eq!(&bytes[..2], b"PK");
        let (names, range) = read_back(bytes);
        assert_eq!(names, vec!["捐赠记录".to_owned()]);
        // Header + 3 data rows.
        assert_eq!(range.height(), 4);
        assert_eq!(range.width(), 6);

        let header: Vec<String> = (0..6).map(|c| range.get((0, c)).unwrap().to_string()).collect();
        assert_eq!(header, ["捐赠人", "笔数", "金额", "日期", "登记时间", "备注"]);

        assert_eq!(range.get((1, 0)), Some(&Data::String("张三".to_owned())));
        assert_eq!(range.get((1, 1)).unwrap().as_f64(), Some(3.0));
        let fen = range.get((1, 2)).unwrap();
        assert!(fen.is_float(), "{fen:?}");
        assert!((fen.as_f64().unwrap() - 1234.56).abs() < 1e-9);
        assert!((range.get((2, 2)).unwrap().as_f64().unwrap() + 0.05).abs() < 1e-9);

        let d = range.get((1, 3)).unwrap();
        assert!(d.is_datetime(), "date cell must carry a date format: {d:?}");
        assert_eq!(d.as_date(), NaiveDate::from_ymd_opt(2026, 1, 15));

        // 18:30:05 UTC is 02:30:05 the next day in China.
        let dt = range.get((1, 4)).unwrap();
        assert!(dt.is_datetime(), "{dt:?}");
        let local = dt.as_datetime().unwrap();
        assert_eq!(local.to_string(), "2026-01-16 02:30:05");
        let local2 = range.get((2, 4)).unwrap().as_datetime().unwrap();
        assert_eq!(local2.to_string(), "2026-01-01 07:59:59");

        assert_eq!(range.get((1, 5)), Some(&Data::Empty));
        // Formula-looking text stays text.
        assert_eq!(range.get((2, 0)), Some(&Data::String("=1+1".to_owned())));
        assert_eq!(range.get((2, 5)), Some(&Data::String("北京市红十字会".to_owned())));
        assert_eq!(range.get((3, 0)), Some(&Data::String("李四".to_owned())));
    }

    #[test]
    fn empty_sheet_has_only_header() {
        let sheet = Sheet {
            name: String::new(),
            columns: vec!["姓名".to_owned(), "电话".to_owned()],
            rows: vec![],
        };
        let (names, range) = read_back(to_xlsx(&sheet).unwrap());
        assert_eq!(names, vec![DEFAULT_SHEET_NAME.to_owned()]);
        assert_eq!(range.height(), 1);
        assert_eq!(range.get((0, 1)).unwrap().to_string(), "电话");
    }

    #[test]
    fn out_of_range_values_degrade_to_text() {
        let sheet = Sheet {
            name: "x".to_owned(),
            columns: vec!["a".to_owned(), "b".to_owned(), "c".to_owned()],
            rows: vec![vec![
                Cell::Int(i64::MAX),
                Cell::Fen(i64::MIN),
                Cell::Date(NaiveDate::from_ymd_opt(1800, 1, 1).unwrap()),
            ]],
        };
        let (_, range) = read_back(to_xlsx(&sheet).unwrap());
        assert_eq!(range.get((1, 0)), Some(&Data::String("9223372036854775807".to_owned())));
        assert_eq!(
            range.get((1, 1)),
            Some(&Data::String("-¥92,233,720,368,547,758.08".to_owned()))
        );
        assert_eq!(range.get((1, 2)), Some(&Data::String("1800-01-01".to_owned())));
    }

    #[test]
    fn overlong_text_is_clipped_not_fatal() {
        let sheet = Sheet {
            name: "长文本".to_owned(),
            columns: vec!["备注".to_owned()],
            rows: vec![vec![Cell::Text("红".repeat(40_000))]],
        };
        let (_, range) = read_back(to_xlsx(&sheet).unwrap());
        let s = range.get((1, 0)).unwrap().to_string();
        assert_eq!(s.chars().count(), MAX_TEXT_CHARS);
    }

    #[test]
    fn sheet_names_follow_excel_rules() {
        assert_eq!(sanitize_sheet_name("2026/01 捐赠[明细]"), "2026_01 捐赠_明细_");
        assert_eq!(sanitize_sheet_name("a:b*c?d\\e"), "a_b_c_d_e");
        assert_eq!(sanitize_sheet_name("'引号'"), "引号");
        assert_eq!(sanitize_sheet_name("   "), DEFAULT_SHEET_NAME);
        assert_eq!(sanitize_sheet_name("History"), DEFAULT_SHEET_NAME);
        let long = "红十字会".repeat(10);
        let s = sanitize_sheet_name(&long);
        assert_eq!(s.chars().count(), 31);
        assert!(long.starts_with(&s));
        // Every sanitised name is accepted by the writer.
        for name in ["[]", "''", "a'", "x/y", &long, "工作表\u{7}"] {
            let sheet = Sheet {
                name: name.to_owned(),
                columns: vec!["列".to_owned()],
                rows: vec![],
            };
            to_xlsx(&sheet).unwrap();
        }
    }

    #[test]
    fn fen_text_matches_number_format() {
        assert_eq!(fen_text(0), "¥0.00");
        assert_eq!(fen_text(5), "¥0.05");
        assert_eq!(fen_text(123_456), "¥1,234.56");
        assert_eq!(fen_text(-100_000_000), "-¥1,000,000.00");
    }

    #[test]
    fn widths_count_cjk_wider() {
        assert_eq!(text_px("ab"), 2 * NARROW_PX);
        assert_eq!(text_px("红十"), 2 * WIDE_PX);
        assert_eq!(text_px("a\n红十字"), 3 * WIDE_PX);
    }

    #[test]
    fn content_disposition_encodes_utf8_name() {
        assert_eq!(
            content_disposition("捐赠记录 2026"),
            "attachment; filename=\"export.xlsx\"; \
             filename*=UTF-8''%E6%8D%90%E8%B5%A0%E8%AE%B0%E5%BD%95%202026.xlsx"
        );
        assert_eq!(
            content_disposition("a\"b;c/d'e%f"),
            "attachment; filename=\"export.xlsx\"; filename*=UTF-8''a%22b%3Bc%2Fd%27e%25f.xlsx"
        );
        assert_eq!(
            content_disposition("A-z_0.9~!#$&+^`|"),
            "attachment; filename=\"export.xlsx\"; filename*=UTF-8''A-z_0.9~!#$&+^`|.xlsx"
        );
        assert_eq!(
            content_disposition(""),
            "attachment; filename=\"export.xlsx\"; filename*=UTF-8''export.xlsx"
        );
        assert!(content_disposition("\r\n注入").is_ascii());
        assert!(!content_disposition("\r\n注入").contains('\n'));
    }

    #[test]
    fn content_type_constant() {
        assert_eq!(
            XLSX_CONTENT_TYPE,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        );
    }
}
