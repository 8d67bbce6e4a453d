//! The yearly donor statement (年度捐赠明细) as a PDF: A4 portrait pages with
//! the society, the donor, the year, one row per gift (date, certificate
//! number, project, channel, amount, refunded) and the year's totals. It is
//! drawn with the certificate's CJK font ([`CertificateFont`]: the same
//! loading, the same missing-glyph check), so every character is real text.

use crate::components::certificate::{CertificateError, CertificateFont};
use krilla::color::rgb;
use krilla::geom::Point;
use krilla::metadata::Metadata;
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::Fill;
use krilla::surface::Surface;
use krilla::text::TextDirection;
use krilla::Document;

/// One row of the statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementRow {
    pub date: String,
    pub certificate_no: String,
    pub project: String,
    pub channel: String,
    pub amount: String,
    pub refunded: String,
}

/// What a statement says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementData {
    pub society_name: String,
    pub donor_name: String,
    pub year: i32,
    pub rows: Vec<StatementRow>,
    pub total: String,
    pub total_refunded: String,
    pub net: String,
    pub issued_on: String,
}

const PAGE_W: f32 = 595.28;
const PAGE_H: f32 = 841.89;
const LEFT: f32 = 48.0;
const RIGHT: f32 = PAGE_W - 48.0;
const ROWS_PER_PAGE: usize = 32;
const INK: (u8, u8, u8) = (30, 30, 30);
const RED: (u8, u8, u8) = (190, 22, 34);
const MUTED: (u8, u8, u8) = (105, 98, 92);

fn fill(c: (u8, u8, u8)) -> Fill {
    Fill {
        paint: rgb::Color::new(c.0, c.1, c.2).into(),
        opacity: NormalizedF32::ONE,
        rule: Default::default(),
    }
}

struct Pen<'a, 'p> {
    surface: &'a mut Surface<'p>,
    font: &'a CertificateFont,
}

impl Pen<'_, '_> {
    fn text(&mut self, x: f32, y: f32, text: &str, size: f32, color: (u8, u8, u8)) {
        self.surface.set_fill(Some(fill(color)));
        self.surface.draw_text(
            Point::from_xy(x, y),
            self.font.krilla_font().clone(),
            size,
            text,
            false,
            TextDirection::Auto,
        );
    }

    fn right(&mut self, x: f32, y: f32, text: &str, size: f32, color: (u8, u8, u8)) {
        let w = self.font.text_width(text, size);
        self.text(x - w, y, text, size, color);
    }

    /// Cuts `text` to fit `width`, with an ellipsis.
    fn fit(&self, text: &str, size: f32, width: f32) -> String {
        if self.font.text_width(text, size) <= width {
            return text.to_owned();
        }
        let mut out = String::new();
        for c in text.chars() {
            out.push(c);
            if self.font.text_width(&format!("{out}…"), size) > width {
                out.pop();
                break;
            }
        }
        format!("{out}…")
    }
}

/// Renders the statement (deterministic: no creation date is written).
pub fn render_statement(data: &StatementData, font: &CertificateFont) -> Result<Vec<u8>, CertificateError> {
    let title = format!("{}年度捐赠明细", data.year);
    let mut all = format!(
        "{title}{}{}{}{}{}{}捐赠人日期证书编号项目方式金额退款合计净额第页共出具日期本明细由系统生成可凭证书编号在公开账本查询…",
        data.society_name, data.donor_name, data.total, data.total_refunded, data.net, data.issued_on
    );
    for r in &data.rows {
        for s in [
            &r.date,
            &r.certificate_no,
            &r.project,
            &r.channel,
            &r.amount,
            &r.refunded,
        ] {
            all.push_str(s);
        }
    }
    let missing = font.missing_chars(&all);
    if !missing.is_empty() {
        return Err(CertificateError::MissingGlyphs(missing));
    }
    let mut document = Document::new();
    document.set_metadata(
        Metadata::new()
            .title(format!("{} {}", data.donor_name, title))
            .authors(vec![data.society_name.clone()])
            .creator("Boai".to_owned())
            .language("zh-CN".to_owned()),
    );
    let settings = PageSettings::from_wh(PAGE_W, PAGE_H).ok_or_else(|| CertificateError::Pdf("page size".into()))?;
    let chunks: Vec<&[StatementRow]> = if data.rows.is_empty() {
        vec![&[]]
    } else {
        data.rows.chunks(ROWS_PER_PAGE).collect()
    };
    let pages = chunks.len();
    // Column x positions: date, certificate, project, channel, amount (right), refunded (right).
    let cols = [LEFT, LEFT + 70.0, LEFT + 180.0, LEFT + 330.0, RIGHT - 60.0, RIGHT];
    for (p, rows) in chunks.into_iter().enumerate() {
        let mut page = document.start_page_with(settings.clone());
        let mut surface = page.surface();
        let mut pen = Pen {
            surface: &mut surface,
            font,
        };
        pen.text(LEFT, 64.0, &data.society_name, 12.0, MUTED);
        pen.text(LEFT, 96.0, &title, 22.0, RED);
        pen.text(LEFT, 126.0, &format!("捐赠人: {}", data.donor_name), 12.0, INK);
        pen.right(RIGHT, 126.0, &format!("出具日期: {}", data.issued_on), 10.0, MUTED);
        let mut y = 160.0;
        let head = ["日期", "证书编号", "项目", "方式"];
        for (i, h) in head.iter().enumerate() {
            pen.text(cols[i], y, h, 10.0, MUTED);
        }
        pen.right(cols[4], y, "金额", 10.0, MUTED);
        pen.right(cols[5], y, "退款", 10.0, MUTED);
        y += 20.0;
        for r in rows {
            pen.text(cols[0], y, &r.date, 9.0, INK);
            pen.text(cols[1], y, &r.certificate_no, 9.0, INK);
            let project = pen.fit(&r.project, 9.0, cols[3] - cols[2] - 8.0);
            pen.text(cols[2], y, &project, 9.0, INK);
            pen.text(cols[3], y, &r.channel, 9.0, INK);
            pen.right(cols[4], y, &r.amount, 9.0, INK);
            pen.right(cols[5], y, &r.refunded, 9.0, INK);
            y += 18.0;
        }
        if p + 1 == pages {
            y += 12.0;
            pen.text(LEFT, y, &format!("合计 {} 笔", data.rows.len()), 11.0, INK);
            pen.right(cols[4], y, &data.total, 11.0, INK);
            pen.right(cols[5], y, &data.total_refunded, 11.0, INK);
            y += 20.0;
            pen.right(RIGHT, y, &format!("净额 {}", data.net), 12.0, RED);
            y += 30.0;
            pen.text(
                LEFT,
                y,
                "本明细由系统生成, 可凭证书编号在公开账本查询每一笔捐赠。",
                9.0,
                MUTED,
            );
        }
        pen.right(
            RIGHT,
            PAGE_H - 40.0,
            &format!("第 {} 页 共 {} 页", p + 1, pages),
            9.0,
            MUTED,
        );
        surface.finish();
        page.finish();
    }
    document.finish().map_err(|e| CertificateError::Pdf(e.to_string()))
}
