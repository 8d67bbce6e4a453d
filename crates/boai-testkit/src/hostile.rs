//! Hostile spreadsheets (issue 24): small .xlsx files that made the
//! spreadsheet reader allocate gigabytes, built part by part so a test can
//! say exactly what is wrong with each. Each is a valid package (content
//! types, workbook, relationships, one sheet) with one thing changed.

use std::io::Write;

/// The sheet of a member import's header row and one data row, in the
/// reader's cell XML.
const HEADER_ROW: &str = r#"<row r="1"><c r="A1" t="inlineStr"><is><t>姓名或名称</t></is></c><c r="B1" t="inlineStr"><is><t>所属基层组织代码</t></is></c></row><row r="2"><c r="A2" t="inlineStr"><is><t>张三</t></is></c><c r="B2" t="inlineStr"><is><t>JN-LX-001</t></is></c></row>"#;

/// A package with `sheet_data` as the first sheet's `<sheetData>` content,
/// `dimension` as its declared range, and `extra` parts (name, bytes,
/// compressed or stored).
pub fn xlsx(dimension: &str, sheet_data: &str, extra: &[(&str, Vec<u8>)]) -> anyhow::Result<Vec<u8>> {
    let sheet = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><dimension ref="{dimension}"/><sheetData>{sheet_data}</sheetData></worksheet>"#
    );
    let mut parts: Vec<(&str, Vec<u8>)> = vec![
        (
            "[Content_Types].xml",
            br#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>"#
                .to_vec(),
        ),
        (
            "_rels/.rels",
            br#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#
                .to_vec(),
        ),
        (
            "xl/workbook.xml",
            br#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>"#
                .to_vec(),
        ),
        (
            "xl/_rels/workbook.xml.rels",
            br#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>"#
                .to_vec(),
        ),
        ("xl/worksheets/sheet1.xml", sheet.into_bytes()),
    ];
    parts.extend(extra.iter().cloned());
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(1));
    for (name, bytes) in parts {
        zip.start_file(name, options)?;
        zip.write_all(&bytes)?;
    }
    Ok(zip.finish()?.into_inner())
}

/// A shared-strings part holding `strings`.
pub fn shared_strings(strings: &[&str]) -> Vec<u8> {
    let mut xml = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="{0}" uniqueCount="{0}">"#,
        strings.len()
    );
    for s in strings {
        xml.push_str(&format!("<si><t>{s}</t></si>"));
    }
    xml.push_str("</sst>");
    xml.into_bytes()
}

/// A well-formed member import file (the control: it is read).
pub fn harmless() -> anyhow::Result<Vec<u8>> {
    xlsx("A1:B2", HEADER_ROW, &[])
}

/// The hostile files, each with what it does to a reader that trusts it.
pub fn spreadsheets() -> anyhow::Result<Vec<(&'static str, Vec<u8>)>> {
    // Shared strings: one of 1 MiB, used by every cell of 4,997 rows × 10
    // columns (a copy per cell: 50 GB).
    let big = "啊".repeat(350_000);
    let mut many_uses = String::from(HEADER_ROW);
    for r in 3..5_000 {
        many_uses.push_str(&format!("<row r=\"{r}\">"));
        for _ in 0..10 {
            many_uses.push_str("<c t=\"s\"><v>0</v></c>");
        }
        many_uses.push_str("</row>");
    }
    // 30 MiB of shared strings and three 20 MiB pictures: 90 MiB from a
    // few hundred kilobytes (each part under the per-part limit, together
    // over the total).
    let mut strings = Vec::with_capacity(30 * 1024 * 1024 + 200);
    strings.extend_from_slice(br#"<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>"#);
    strings.resize(strings.len() + 30 * 1024 * 1024, b'a');
    strings.extend_from_slice(b"</t></si></sst>");
    let picture = vec![0u8; 20 * 1024 * 1024];
    let bomb = [
        ("xl/sharedStrings.xml", strings),
        ("xl/media/image1.png", picture.clone()),
        ("xl/media/image2.png", picture.clone()),
        ("xl/media/image3.png", picture),
    ];
    Ok(vec![
        // Two cells at opposite corners of the largest sheet (the declared
        // dimension says A1:B2): rows × columns of the used range is 2^34
        // cells (512 GiB).
        (
            "far-apart cells",
            xlsx(
                "A1:B2",
                &format!(r#"{HEADER_ROW}<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>"#),
                &[],
            )?,
        ),
        // Only the declared dimension is huge.
        ("declared dimension", xlsx("A1:XFD1048576", HEADER_ROW, &[])?),
        // A shared formula over the whole sheet: one hash entry per cell.
        (
            "shared formula range",
            xlsx(
                "A1:B3",
                &format!(
                    r#"{HEADER_ROW}<row r="3"><c r="A3"><f t="shared" ref="A3:XFD1048576" si="0">1+1</f><v>2</v></c></row>"#
                ),
                &[],
            )?,
        ),
        // A shared formula index of four billion: a slot for each.
        (
            "shared formula index",
            xlsx(
                "A1:B3",
                &format!(
                    r#"{HEADER_ROW}<row r="3"><c r="A3"><f t="shared" ref="A3" si="4000000000">1+1</f><v>2</v></c></row>"#
                ),
                &[],
            )?,
        ),
        (
            "one string in every cell",
            xlsx(
                "A1:J4999",
                &many_uses,
                &[("xl/sharedStrings.xml", shared_strings(&[&big]))],
            )?,
        ),
        ("decompression bomb", xlsx("A1:B2", HEADER_ROW, &bomb)?),
        (
            "external link",
            xlsx(
                "A1:B2",
                HEADER_ROW,
                &[(
                    "xl/externalLinks/externalLink1.xml",
                    br#"<externalLink xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"/>"#.to_vec(),
                )],
            )?,
        ),
    ])
}
