//! Checks an .xlsx before the spreadsheet reader builds anything from it
//! (issue 24): a file of a few kilobytes must not make the reader allocate
//! gigabytes. The reader (calamine) allocates rows × columns of the first
//! sheet's used range, a hash entry per cell of a shared formula's range, a
//! slot per shared-formula index, every shared string at once and a copy of
//! a shared string per cell that uses it; all of that is bounded here first:
//!
//! 1. [`check_package`], on the zip as a whole, streaming, before the reader
//!    opens it: no ZIP64, at most [`MAX_ENTRIES`] entries, no external links,
//!    every entry's decompressed size at most [`MAX_ENTRY_BYTES`] and all of
//!    them together at most [`MAX_TOTAL_BYTES`] (counted while inflating, the
//!    sizes the zip declares are not trusted); every entry read as XML the way
//!    the reader reads it, counting shared strings ([`MAX_SHARED_STRINGS`])
//!    and the cells shared formulas cover ([`MAX_FORMULA_CELLS`],
//!    [`MAX_FORMULA_INDEX`]).
//! 2. [`check_sheet`], on the first sheet through the reader's own streaming
//!    cell iterator: the declared dimension, then the rectangle the used cells
//!    span (at most [`crate::IMPORT_MAX_ROWS`] + 1 rows and [`MAX_COLUMNS`]
//!    columns) and the text they hold ([`MAX_TEXT_BYTES`]); formulas are
//!    looked for the same way (the reader's formula range is never built).
//!
//! Only then is the sheet read into memory. Every refusal is a Chinese
//! sentence for the person who uploaded the file.

use crate::IMPORT_MAX_ROWS;
use quick_xml::events::Event;
use std::cell::Cell;
use std::io::{BufReader, Cursor, Read};
use std::rc::Rc;

/// The most entries (parts) an .xlsx may hold.
pub const MAX_ENTRIES: usize = 1_000;
/// The largest one entry may be once decompressed.
pub const MAX_ENTRY_BYTES: u64 = 32 * 1024 * 1024;
/// The largest all entries together may be once decompressed.
pub const MAX_TOTAL_BYTES: u64 = 64 * 1024 * 1024;
/// The most shared strings (`<si>`) a workbook may hold.
pub const MAX_SHARED_STRINGS: u64 = 500_000;
/// The most cells all shared formulas' ranges may cover together.
pub const MAX_FORMULA_CELLS: u64 = 500_000;
/// The highest shared-formula index (`si`) a sheet may use.
pub const MAX_FORMULA_INDEX: u64 = 65_535;
/// The most columns a sheet may use.
pub const MAX_COLUMNS: u32 = 64;
/// The most text the first sheet's cells may hold together (a shared string
/// counts once per cell that uses it).
pub const MAX_TEXT_BYTES: u64 = 32 * 1024 * 1024;

const BROKEN: &str = "Excel 文件结构异常, 无法导入 (请用 Excel 或 WPS 另存为 .xlsx 后再试)";

fn too_big() -> String {
    format!(
        "Excel 文件解压后过大 (每个部分不超过 {} MB, 合计不超过 {} MB), 请删除多余内容或另存为 .csv 后再导入",
        MAX_ENTRY_BYTES / 1024 / 1024,
        MAX_TOTAL_BYTES / 1024 / 1024
    )
}

fn too_many_rows() -> String {
    format!("行数过多 (每次不超过 {IMPORT_MAX_ROWS} 行)")
}

fn too_many_columns() -> String {
    "列数过多, 请使用导入模板".to_owned()
}

/// Counts what is read through it and fails once past a limit.
struct Counted<R> {
    inner: R,
    read: u64,
    limit: u64,
    /// Shared by every entry: the package's total so far.
    total: Rc<Cell<u64>>,
    over: Rc<Cell<bool>>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        self.total.set(self.total.get() + n as u64);
        if self.read > self.limit || self.total.get() > MAX_TOTAL_BYTES {
            self.over.set(true);
            return Err(std::io::Error::other("over the size limit"));
        }
        Ok(n)
    }
}

/// The zip as a whole: see the module's rules (1).
pub fn check_package(bytes: &[u8]) -> Result<(), String> {
    // ZIP64 records (the locator and the end record) in the tail: the zip
    // reader sizes its entry table from them. No sheet we take needs ZIP64.
    let tail = &bytes[bytes.len().saturating_sub(65_557 + 76)..];
    if tail.windows(4).any(|w| w == b"PK\x06\x07" || w == b"PK\x06\x06") {
        return Err(BROKEN.to_owned());
    }
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| format!("无法读取 Excel 文件: {e}"))?;
    if zip.len() > MAX_ENTRIES {
        return Err(BROKEN.to_owned());
    }
    let total = Rc::new(Cell::new(0u64));
    let over = Rc::new(Cell::new(false));
    let mut strings = 0u64;
    let mut formula_cells = 0u64;
    for i in 0..zip.len() {
        let entry = zip.by_index(i).map_err(|e| format!("无法读取 Excel 文件: {e}"))?;
        let name = entry.name().replace('\\', "/").to_ascii_lowercase();
        if name.contains("externallink") {
            return Err("工作簿含有外部链接, 请断开链接 (将数据粘贴为数值) 后再导入".to_owned());
        }
        if entry.size() > MAX_ENTRY_BYTES {
            return Err(too_big());
        }
        if entry.is_dir() {
            continue;
        }
        let counted = Counted {
            inner: entry,
            read: 0,
            limit: MAX_ENTRY_BYTES,
            total: total.clone(),
            over: over.clone(),
        };
        scan_xml(counted, &mut strings, &mut formula_cells)?;
        if over.get() {
            return Err(too_big());
        }
    }
    Ok(())
}

/// Reads one entry as the spreadsheet reader would (same parser, same
/// settings) until its end or the first error, checking what the reader
/// would allocate for. Entries that are not XML end at their first error,
/// as they would in the reader.
fn scan_xml<R: Read>(entry: Counted<R>, strings: &mut u64, formula_cells: &mut u64) -> Result<(), String> {
    let over = entry.over.clone();
    let mut xml = quick_xml::Reader::from_reader(BufReader::new(entry));
    let config = xml.config_mut();
    config.check_end_names = false;
    config.trim_text(false);
    config.check_comments = false;
    config.expand_empty_elements = true;
    let mut buf = Vec::with_capacity(1024);
    loop {
        buf.clear();
        match xml.read_event_into(&mut buf) {
            Ok(Event::Start(e)) => match e.local_name().as_ref() {
                b"si" => {
                    *strings += 1;
                    if *strings > MAX_SHARED_STRINGS {
                        return Err(format!("共享字符串过多 (不超过 {MAX_SHARED_STRINGS} 个), 无法导入"));
                    }
                }
                b"f" => {
                    let mut shared = false;
                    let mut range = None;
                    for a in e.attributes().flatten() {
                        match a.key.as_ref() {
                            b"t" => shared = a.value.as_ref() == b"shared",
                            b"ref" => range = Some(a.value.into_owned()),
                            b"si" => {
                                let index = std::str::from_utf8(&a.value)
                                    .ok()
                                    .and_then(|s| s.trim().parse::<u64>().ok())
                                    .unwrap_or(u64::MAX);
                                if index > MAX_FORMULA_INDEX {
                                    return Err(BROKEN.to_owned());
                                }
                            }
                            _ => {}
                        }
                    }
                    if let (true, Some(range)) = (shared, range) {
                        let ((r0, c0), (r1, c1)) = parse_range(&range).ok_or_else(|| BROKEN.to_owned())?;
                        let cells = (u64::from(r1.abs_diff(r0)) + 1) * (u64::from(c1.abs_diff(c0)) + 1);
                        *formula_cells = formula_cells.saturating_add(cells);
                        if *formula_cells > MAX_FORMULA_CELLS {
                            return Err("工作表含有公式, 请将公式粘贴为数值后再导入".to_owned());
                        }
                    }
                }
                _ => {}
            },
            Ok(Event::Eof) => return Ok(()),
            Err(_) if over.get() => return Err(too_big()),
            Err(_) => return Ok(()),
            Ok(_) => {}
        }
    }
}

/// A cell reference (`B7`, `$B$7`) as 0-based (row, column); `None` when
/// it is not one or is beyond any sheet.
fn parse_cell(text: &[u8]) -> Option<(u32, u32)> {
    let text: Vec<u8> = text.iter().copied().filter(|c| *c != b'$').collect();
    let split = text.iter().position(u8::is_ascii_digit)?;
    let (letters, digits) = text.split_at(split);
    if letters.is_empty() || letters.len() > 3 || digits.is_empty() || digits.len() > 7 {
        return None;
    }
    let mut col = 0u32;
    for c in letters {
        if !c.is_ascii_alphabetic() {
            return None;
        }
        col = col * 26 + u32::from(c.to_ascii_uppercase() - b'A') + 1;
    }
    let row: u32 = std::str::from_utf8(digits).ok()?.parse().ok()?;
    if row == 0 || row > 1_048_576 || col > 16_384 {
        return None;
    }
    Some((row - 1, col - 1))
}

/// A range (`A1:C9`, or one cell).
fn parse_range(text: &[u8]) -> Option<((u32, u32), (u32, u32))> {
    let mut parts = text.split(|c| *c == b':');
    let start = parse_cell(parts.next()?)?;
    let end = match parts.next() {
        Some(p) => parse_cell(p)?,
        None => start,
    };
    if parts.next().is_some() {
        return None;
    }
    Some((start, end))
}

/// The first sheet, streamed through the reader's cell iterator: see the
/// module's rules (2).
pub fn check_sheet<RS: Read + std::io::Seek>(book: &mut calamine::Xlsx<RS>, name: &str) -> Result<(), String> {
    use calamine::{DataRef, XlsxError};
    let bad = |e: XlsxError| format!("无法读取 Excel 文件: {e}");
    let mut cells = match book.worksheet_cells_reader(name) {
        Ok(cells) => cells,
        // A chart sheet first: the reader gives an empty range.
        Err(XlsxError::NotAWorksheet(_)) => return Ok(()),
        Err(e) => return Err(bad(e)),
    };
    let declared = cells.dimensions();
    if declared.end.0 < declared.start.0 || declared.end.1 < declared.start.1 {
        return Err(BROKEN.to_owned());
    }
    if declared.end.0 - declared.start.0 > IMPORT_MAX_ROWS as u32 {
        return Err(format!(
            "工作表声明的范围超过 {} 行; {}",
            IMPORT_MAX_ROWS + 1,
            too_many_rows()
        ));
    }
    if declared.end.1 - declared.start.1 >= MAX_COLUMNS {
        return Err(format!("工作表声明的范围超过 {MAX_COLUMNS} 列; {}", too_many_columns()));
    }
    let (mut top, mut bottom, mut left, mut right) = (u32::MAX, 0u32, u32::MAX, 0u32);
    let mut text = 0u64;
    while let Some(cell) = cells.next_cell().map_err(bad)? {
        let size = match cell.get_value() {
            DataRef::Empty => continue,
            DataRef::String(s) | DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => s.len(),
            DataRef::SharedString(s) => s.len(),
            _ => 8,
        };
        let (row, col) = cell.get_position();
        (top, bottom, left, right) = (top.min(row), bottom.max(row), left.min(col), right.max(col));
        if bottom - top > IMPORT_MAX_ROWS as u32 {
            return Err(too_many_rows());
        }
        if right - left >= MAX_COLUMNS {
            return Err(too_many_columns());
        }
        text += size as u64 + 1;
        if text > MAX_TEXT_BYTES {
            return Err(format!(
                "单元格内容过多 (合计不超过 {} MB), 无法导入",
                MAX_TEXT_BYTES / 1024 / 1024
            ));
        }
    }
    drop(cells);
    // Formulas, streamed too (the reader's own formula range would span
    // every formula cell, values or not).
    let mut formulas = book.worksheet_cells_reader(name).map_err(bad)?;
    while let Some(cell) = formulas.next_formula().map_err(bad)? {
        if !cell.get_value().is_empty() {
            return Err("工作表含有公式, 请将公式粘贴为数值后再导入".to_owned());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cell_references() {
        assert_eq!(parse_cell(b"A1"), Some((0, 0)));
        assert_eq!(parse_cell(b"$B$7"), Some((6, 1)));
        assert_eq!(parse_cell(b"XFD1048576"), Some((1_048_575, 16_383)));
        assert_eq!(parse_cell(b"XFE1"), None);
        assert_eq!(parse_cell(b"A0"), None);
        assert_eq!(parse_cell(b"A99999999999"), None);
        assert_eq!(parse_cell(b"1A"), None);
        assert_eq!(parse_range(b"A1:C9"), Some(((0, 0), (8, 2))));
        assert_eq!(parse_range(b"A1:B2:C3"), None);
    }
}
