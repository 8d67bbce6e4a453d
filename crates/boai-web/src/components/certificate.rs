//! The electronic donation certificate (电子捐赠证书) as a PDF.
//!
//! [`render_certificate`] draws one A4-landscape page with [krilla]:
//!
//! * a cream page with a double red border and corner brackets;
//! * the title 捐赠证书 and the certificate number (证书编号) at the top right;
//! * the body: "兹收到 {捐赠人} 向{红十字会}捐赠：", then rows for the project (捐赠项目),
//!   the amount in figures (捐赠金额 ¥1,234.56, with thousands separators), the amount in
//!   capitals (人民币（大写）…, passed in by the caller), the goods (捐赠物资) when given, and
//!   "特发此证，以资感谢。";
//! * at the bottom right the society's name and the date (YYYY年M月D日) under a round red
//!   seal drawn with vector paths: circle, five-pointed star, the society's name along the
//!   upper arc and 电子捐赠专用章 below the star;
//! * at the bottom left a QR code of [`CertificateData::verify_url`] (its modules drawn as
//!   filled rectangles) with the caption 扫码验证真伪.
//!
//! Rules:
//!
//! * All text is real text in a subset of one CJK font embedded in the PDF, so it is
//!   searchable and copyable (pdftotext extracts it). The seal's lettering is the one
//!   exception: it is drawn as glyph outlines, like a stamp, and is not extractable text.
//! * Before anything is drawn every string is checked against the font's character map;
//!   characters the font lacks give [`CertificateError::MissingGlyphs`] instead of boxes.
//! * Runs of whitespace in the caller's strings collapse to one space; an empty donor
//!   name is shown as 匿名.
//! * A negative amount is refused ([`CertificateError::NegativeAmount`]). An amount of zero
//!   with goods is a donation in kind: the two amount rows are left out.
//! * Long strings wrap (between CJK characters, between Latin words) and the body shrinks
//!   its type size to fit; if it cannot fit even at the smallest size,
//!   [`CertificateError::TooLong`] is returned.
//! * The output is deterministic: the same data and font give the same bytes (no creation
//!   date is written).
//!
//! Fonts: [`CertificateFont::load`] with `None` tries, in order, Noto Serif CJK, Noto Sans
//! CJK (Debian's `fonts-noto-cjk`), then WenQuanYi Micro Hei and Zen Hei. In a collection
//! (`.ttc`) the face whose family name ends in "SC" (Simplified Chinese; index 2 in the
//! Noto CJK collections) is chosen, otherwise the first face.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::Datelike;
use krilla::blend::BlendMode;
use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Rect, Transform};
use krilla::metadata::Metadata;
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::{Fill, LineCap, LineJoin, Paint, Stroke};
use krilla::surface::Surface;
use krilla::text::{Font, TextDirection};
use krilla::Document;
use skrifa::charmap::Charmap;
use skrifa::instance::{LocationRef, Size};
use skrifa::metrics::GlyphMetrics;
use skrifa::raw::{FileRef, TableProvider};
use skrifa::string::StringId;
use skrifa::{FontRef, MetadataProvider};

/// Fonts tried by [`CertificateFont::load`] when no path is given (Debian paths).
pub const DEFAULT_FONT_PATHS: [&str; 4] = [
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
];

/// What a certificate says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateData {
    /// The issuing society, e.g. "济南市红十字会".
    pub society_name: String,
    /// E.g. "JN-2026-000123".
    pub certificate_no: String,
    /// The donor's public name, or "匿名".
    pub donor_name: String,
    /// The amount in fen (1/100 yuan); must not be negative.
    pub amount_fen: i64,
    /// The amount in Chinese capitals, as `fen_to_capitals` writes it.
    pub amount_capitals: String,
    /// The project the donation is for.
    pub project_name: String,
    /// The date of the donation.
    pub date: chrono::NaiveDate,
    /// Goods donated, e.g. "医用口罩 10000 只, 估值 ¥5,000.00".
    pub goods: Option<String>,
    /// The address that verifies this certificate; encoded in the QR code.
    pub verify_url: String,
}

/// Why a certificate could not be made.
#[derive(Debug, thiserror::Error)]
pub enum CertificateError {
    /// None of the default font files exists.
    #[error("no CJK font found (tried {0:?})")]
    NoFont(Vec<PathBuf>),
    /// The font file could not be read.
    #[error("cannot read font {path}: {source}")]
    FontIo {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The font data is not a usable font.
    #[error("invalid font: {0}")]
    InvalidFont(String),
    /// The font has no glyph for these characters.
    #[error("the font has no glyph for {}", format_chars(.0))]
    MissingGlyphs(Vec<char>),
    /// The amount is below zero.
    #[error("a certificate cannot show a negative amount ({0} fen)")]
    NegativeAmount(i64),
    /// The text does not fit on the page even at the smallest type size.
    #[error("the certificate text is too long to fit on the page")]
    TooLong,
    /// The verification address cannot be encoded as a QR code.
    #[error("cannot encode the verification address as a QR code: {0}")]
    Qr(String),
    /// krilla failed to write the PDF.
    #[error("cannot write the PDF: {0}")]
    Pdf(String),
}

fn format_chars(chars: &[char]) -> String {
    chars
        .iter()
        .map(|c| format!("'{c}' (U+{:04X})", u32::from(*c)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A CJK font for certificates: the file's bytes, the face index within a collection, and
/// the parsed krilla font. Load it once and share it; rendering only reads it.
#[derive(Clone)]
pub struct CertificateFont {
    data: Arc<Vec<u8>>,
    index: u32,
    font: Font,
    family: String,
}

impl std::fmt::Debug for CertificateFont {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertificateFont")
            .field("family", &self.family)
            .field("index", &self.index)
            .field("bytes", &self.data.len())
            .finish()
    }
}

impl CertificateFont {
    /// Loads the font at `path`, or with `None` the first of [`DEFAULT_FONT_PATHS`] that
    /// exists. In a font collection the Simplified Chinese face is chosen.
    pub fn load(path: Option<&Path>) -> Result<CertificateFont, CertificateError> {
        let path = match path {
            Some(p) => p.to_path_buf(),
            None => DEFAULT_FONT_PATHS
                .iter()
                .map(PathBuf::from)
                .find(|p| p.is_file())
                .ok_or_else(|| CertificateError::NoFont(DEFAULT_FONT_PATHS.iter().map(PathBuf::from).collect()))?,
        };
        let data = std::fs::read(&path).map_err(|source| CertificateError::FontIo { path, source })?;
        Self::from_bytes(data, None)
    }

    /// Uses font bytes already in memory. With `index` `None` the Simplified Chinese face
    /// of a collection (or the only face of a single font) is chosen.
    pub fn from_bytes(data: Vec<u8>, index: Option<u32>) -> Result<CertificateFont, CertificateError> {
        let index = match index {
            Some(i) => i,
            None => pick_face(&data)?,
        };
        let face = FontRef::from_index(&data, index).map_err(|e| CertificateError::InvalidFont(e.to_string()))?;
        let family = family_name(&face).unwrap_or_default();
        let data = Arc::new(data);
        let font = Font::new(Arc::clone(&data).into(), index)
            .ok_or_else(|| CertificateError::InvalidFont(format!("krilla cannot use face {index}")))?;
        Ok(CertificateFont {
            data,
            index,
            font,
            family,
        })
    }

    /// The face's family name, e.g. "Noto Serif CJK SC".
    pub fn family(&self) -> &str {
        &self.family
    }

    /// The face index within the font file (0 for a single font).
    pub fn index(&self) -> u32 {
        self.index
    }

    /// The characters of `text` the font has no glyph for, each once, in order of first
    /// appearance. Line breaks and tabs, which are never drawn, are not reported.
    pub fn missing_chars(&self, text: &str) -> Vec<char> {
        let mut missing = Vec::new();
        let Ok(face) = self.face() else {
            // Unreachable: the face was parsed when the font was made.
            text.chars().for_each(|c| push_unique(&mut missing, c));
            return missing;
        };
        let charmap = face.charmap();
        for c in text.chars() {
            if matches!(c, '\n' | '\r' | '\t') {
                continue;
            }
            if charmap.map(c).is_none_or(|g| g.to_u32() == 0) {
                push_unique(&mut missing, c);
            }
        }
        missing
    }

    /// The krilla font, for other documents drawn with the same face (the
    /// yearly donor statement).
    pub fn krilla_font(&self) -> &Font {
        &self.font
    }

    /// The advance width of `text` at `size` points.
    pub fn text_width(&self, text: &str, size: f32) -> f32 {
        match self.face() {
            Ok(face) => Metrics::new(&face).width(text, size),
            Err(_) => text.chars().count() as f32 * size,
        }
    }

    fn face(&self) -> Result<FontRef<'_>, CertificateError> {
        FontRef::from_index(self.data.as_slice(), self.index).map_err(|e| CertificateError::InvalidFont(e.to_string()))
    }
}

fn push_unique(list: &mut Vec<char>, c: char) {
    if !list.contains(&c) {
        list.push(c);
    }
}

fn family_name(face: &FontRef<'_>) -> Option<String> {
    let name = face
        .localized_strings(StringId::TYPOGRAPHIC_FAMILY_NAME)
        .english_or_first()
        .or_else(|| face.localized_strings(StringId::FAMILY_NAME).english_or_first())?;
    Some(name.to_string())
}

/// The face to use: in a collection the first whose family ends in "SC", else face 0.
fn pick_face(data: &[u8]) -> Result<u32, CertificateError> {
    match FileRef::new(data).map_err(|e| CertificateError::InvalidFont(e.to_string()))? {
        FileRef::Font(_) => Ok(0),
        FileRef::Collection(collection) => {
            let sc = (0..collection.len()).find(|&i| {
                collection
                    .get(i)
                    .ok()
                    .and_then(|face| family_name(&face))
                    .is_some_and(|name| name.ends_with(" SC"))
            });
            Ok(sc.unwrap_or(0))
        }
    }
}

// ---------------------------------------------------------------------------------------
// Page geometry and colours (points; krilla's origin is the top left, y grows downwards).

const PAGE_W: f32 = 841.89;
const PAGE_H: f32 = 595.28;
const BODY_LEFT: f32 = 104.0;
const BODY_RIGHT: f32 = PAGE_W - 104.0;
const BODY_TOP: f32 = 196.0;
const BODY_BOTTOM: f32 = 395.0;
const BODY_SIZE_MAX: f32 = 20.0;
const BODY_SIZE_MIN: f32 = 10.0;
const QR_X: f32 = 72.0;
const QR_SIZE: f32 = 84.0;
const QR_Y: f32 = PAGE_H - 64.0 - QR_SIZE - 16.0;
const SIGN_X: f32 = PAGE_W - 172.0;
const SIGN_Y: f32 = 468.0;
const SEAL_R: f32 = 56.0;

type Rgb = (u8, u8, u8);
const RED: Rgb = (190, 22, 34);
const INK: Rgb = (30, 30, 30);
const MUTED: Rgb = (105, 98, 92);
const PAPER: Rgb = (255, 252, 245);
const WHITE: Rgb = (255, 255, 255);

const CLOSING: &str = "特发此证，以资感谢。";
const TITLE: &str = "捐赠证书";
const SUBTITLE: &str = "DONATION CERTIFICATE";
const SEAL_BOTTOM: &str = "电子捐赠专用章";
const QR_CAPTION: &str = "扫码验证真伪";
const FOOTER: &str = "本证书为电子捐赠证书，可扫描左下角二维码或凭证书编号查验真伪";
const LABEL_PROJECT: &str = "捐赠项目：";
const LABEL_AMOUNT: &str = "捐赠金额：";
const LABEL_CAPITALS: &str = "人民币（大写）：";
const LABEL_GOODS: &str = "捐赠物资：";
const LABEL_NO: &str = "证书编号：";

fn paint(c: Rgb) -> Paint {
    rgb::Color::new(c.0, c.1, c.2).into()
}

fn fill(c: Rgb) -> Fill {
    Fill {
        paint: paint(c),
        opacity: NormalizedF32::ONE,
        rule: Default::default(),
    }
}

fn stroke(c: Rgb, width: f32) -> Stroke {
    Stroke {
        paint: paint(c),
        width,
        line_cap: LineCap::Round,
        line_join: LineJoin::Round,
        ..Default::default()
    }
}

/// Glyph advances, for measuring text before drawing it.
struct Metrics<'a> {
    charmap: Charmap<'a>,
    glyphs: GlyphMetrics<'a>,
    units_per_em: f32,
}

impl<'a> Metrics<'a> {
    fn new(face: &FontRef<'a>) -> Self {
        let units_per_em = face.head().map(|h| f32::from(h.units_per_em())).unwrap_or(1000.0);
        Metrics {
            charmap: face.charmap(),
            glyphs: face.glyph_metrics(Size::unscaled(), LocationRef::default()),
            units_per_em,
        }
    }

    fn char_width(&self, c: char, size: f32) -> f32 {
        let advance = self
            .charmap
            .map(c)
            .and_then(|g| self.glyphs.advance_width(g))
            .unwrap_or(self.units_per_em);
        advance / self.units_per_em * size
    }

    fn width(&self, text: &str, size: f32) -> f32 {
        text.chars().map(|c| self.char_width(c, size)).sum()
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
struct Style {
    size: f32,
    color: Rgb,
    bold: bool,
    underline: bool,
}

impl Style {
    fn plain(size: f32, color: Rgb) -> Self {
        Style {
            size,
            color,
            bold: false,
            underline: false,
        }
    }
}

/// A laid-out line: pieces of text with their style and x offset from the line's start.
#[derive(Debug, Default)]
struct Line {
    pieces: Vec<(String, Style, f32)>,
    width: f32,
    size: f32,
}

/// Characters that must not start a line (they hang at the end of the previous one).
fn no_line_start(c: char) -> bool {
    "，。、；：！？）》」』】”’,.;:!?)%".contains(c)
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "¥$.,-_/@:%+#".contains(c)
}

/// Lays out styled runs into lines at most `max_width` wide (punctuation may hang).
fn wrap(runs: &[(&str, Style)], max_width: f32, m: &Metrics<'_>) -> Vec<Line> {
    let chars: Vec<(char, Style, f32)> = runs
        .iter()
        .flat_map(|(text, style)| text.chars().map(move |c| (c, *style)))
        .map(|(c, s)| (c, s, m.char_width(c, s.size)))
        .collect();

    let mut breaks = Vec::new(); // (start, end) indices of each line
    let mut start = 0;
    let mut width = 0.0;
    let mut i = 0;
    while i < chars.len() {
        let (c, _, w) = chars[i];
        if i > start && width + w > max_width && !no_line_start(c) {
            let mut at = i;
            while at > start && is_word_char(chars[at - 1].0) && is_word_char(chars[at].0) {
                at -= 1;
            }
            if at == start {
                at = i;
            }
            breaks.push((start, at));
            start = at;
            while start < chars.len() && chars[start].0 == ' ' {
                start += 1;
            }
            if start > i {
                // The break fell on spaces, which were dropped.
                width = 0.0;
                i = start;
                continue;
            }
            width = chars[start..i].iter().map(|x| x.2).sum();
        }
        width += chars[i].2;
        i += 1;
    }
    if start < chars.len() {
        breaks.push((start, chars.len()));
    }

    breaks
        .into_iter()
        .map(|(s, e)| {
            let mut end = e;
            while end > s && chars[end - 1].0 == ' ' && !chars[end - 1].1.underline {
                end -= 1;
            }
            let mut line = Line::default();
            for &(c, style, w) in &chars[s..end] {
                match line.pieces.last_mut() {
                    Some((text, st, _)) if *st == style => text.push(c),
                    _ => line.pieces.push((c.to_string(), style, line.width)),
                }
                line.width += w;
                line.size = line.size.max(style.size);
            }
            line
        })
        .collect()
}

/// Collapses whitespace runs to one space and trims.
fn normalize(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `123456` → `"1,234.56"`.
fn format_yuan(fen: i64) -> String {
    let abs = fen.unsigned_abs();
    let digits = (abs / 100).to_string();
    let grouped = digits
        .as_bytes()
        .rchunks(3)
        .rev()
        .map(|group| std::str::from_utf8(group).unwrap_or_default())
        .collect::<Vec<_>>()
        .join(",");
    let sign = if fen < 0 { "-" } else { "" };
    format!("{sign}{grouped}.{:02}", abs % 100)
}

fn format_date(date: chrono::NaiveDate) -> String {
    format!("{}年{}月{}日", date.year(), date.month(), date.day())
}

/// The strings of one certificate, cleaned up.
struct Texts {
    society: String,
    number: String,
    donor: String,
    project: String,
    amount: Option<String>,
    capitals: Option<String>,
    goods: Option<String>,
    date: String,
}

impl Texts {
    fn new(data: &CertificateData) -> Result<Self, CertificateError> {
        if data.amount_fen < 0 {
            return Err(CertificateError::NegativeAmount(data.amount_fen));
        }
        let goods = data.goods.as_deref().map(normalize).filter(|g| !g.is_empty());
        let in_kind_only = data.amount_fen == 0 && goods.is_some();
        let donor = normalize(&data.donor_name);
        Ok(Texts {
            society: normalize(&data.society_name),
            number: normalize(&data.certificate_no),
            donor: if donor.is_empty() { "匿名".to_owned() } else { donor },
            project: normalize(&data.project_name),
            amount: (!in_kind_only).then(|| format!("¥{}", format_yuan(data.amount_fen))),
            capitals: (!in_kind_only).then(|| normalize(&data.amount_capitals)),
            goods,
            date: format_date(data.date),
        })
    }

    /// Everything that will be drawn, for the glyph check.
    fn all(&self) -> String {
        let mut all = [
            self.society.as_str(),
            &self.number,
            &self.donor,
            &self.project,
            &self.date,
            CLOSING,
            TITLE,
            SUBTITLE,
            SEAL_BOTTOM,
            QR_CAPTION,
            FOOTER,
            LABEL_PROJECT,
            LABEL_AMOUNT,
            LABEL_CAPITALS,
            LABEL_GOODS,
            LABEL_NO,
            "兹收到 向捐赠：",
        ]
        .concat();
        for extra in [&self.amount, &self.capitals, &self.goods].into_iter().flatten() {
            all.push_str(extra);
        }
        all
    }
}

/// Renders the certificate as a one-page PDF.
pub fn render_certificate(data: &CertificateData, font: &CertificateFont) -> Result<Vec<u8>, CertificateError> {
    let texts = Texts::new(data)?;
    let missing = font.missing_chars(&texts.all());
    if !missing.is_empty() {
        return Err(CertificateError::MissingGlyphs(missing));
    }
    let qr = qrcode::QrCode::new(data.verify_url.as_bytes()).map_err(|e| CertificateError::Qr(e.to_string()))?;
    let face = font.face()?;
    let m = Metrics::new(&face);
    let body = layout_body(&texts, &m)?;

    let mut document = Document::new();
    document.set_metadata(
        Metadata::new()
            .title(format!("捐赠证书 {}", texts.number))
            .authors(vec![texts.society.clone()])
            .creator("Boai".to_owned())
            .language("zh-CN".to_owned()),
    );
    let settings = PageSettings::from_wh(PAGE_W, PAGE_H).ok_or_else(|| CertificateError::Pdf("page size".into()))?;
    {
        let mut page = document.start_page_with(settings);
        let mut surface = page.surface();
        let mut pen = Pen {
            surface: &mut surface,
            font: &font.font,
            m: &m,
        };
        pen.frame();
        pen.header(&texts);
        pen.body(&body);
        pen.signature(&texts);
        pen.qr(&qr);
        pen.footer();
        surface.finish();
        page.finish();
    }
    document.finish().map_err(|e| CertificateError::Pdf(e.to_string()))
}

/// The body, laid out: lines with their baseline y and x.
struct Body {
    lines: Vec<(Line, f32, f32)>,
}

fn layout_body(t: &Texts, m: &Metrics<'_>) -> Result<Body, CertificateError> {
    let mut size = BODY_SIZE_MAX;
    while size >= BODY_SIZE_MIN {
        let body = layout_body_at(t, m, size);
        if body.lines.last().is_some_and(|(_, y, _)| *y <= BODY_BOTTOM) {
            return Ok(body);
        }
        size -= 0.5;
    }
    Err(CertificateError::TooLong)
}

fn layout_body_at(t: &Texts, m: &Metrics<'_>, size: f32) -> Body {
    let leading = size * 1.9;
    let normal = Style::plain(size, INK);
    let label = Style::plain(size, MUTED);
    let donor = Style {
        size: size * 1.1,
        bold: true,
        underline: true,
        ..normal
    };
    let strong = Style { bold: true, ..normal };
    let width = BODY_RIGHT - BODY_LEFT;
    let mut lines = Vec::new();
    let mut y = BODY_TOP;

    let donor_text = format!(" {} ", t.donor);
    let intro = [
        ("兹收到", normal),
        (donor_text.as_str(), donor),
        ("向", normal),
        (t.society.as_str(), normal),
        ("捐赠：", normal),
    ];
    for line in wrap(&intro, width, m) {
        lines.push((line, y, BODY_LEFT));
        y += leading;
    }
    y += size * 0.35;

    // Rows: labels right-aligned in a column indented by two characters.
    let mut rows: Vec<(&str, &str, Style)> = vec![(LABEL_PROJECT, t.project.as_str(), normal)];
    if let (Some(amount), Some(capitals)) = (&t.amount, &t.capitals) {
        rows.push((LABEL_AMOUNT, amount.as_str(), strong));
        rows.push((LABEL_CAPITALS, capitals.as_str(), strong));
    }
    if let Some(goods) = &t.goods {
        rows.push((LABEL_GOODS, goods.as_str(), normal));
    }
    let label_w = rows.iter().map(|(l, _, _)| m.width(l, size)).fold(0.0, f32::max);
    let label_right = BODY_LEFT + size * 2.0 + label_w;
    for (l, value, style) in rows {
        let lw = m.width(l, size);
        let label_line = Line {
            pieces: vec![(l.to_owned(), label, 0.0)],
            width: lw,
            size,
        };
        lines.push((label_line, y, label_right - lw));
        for line in wrap(&[(value, style)], BODY_RIGHT - label_right, m) {
            lines.push((line, y, label_right));
            y += leading;
        }
    }
    y += size * 0.35;

    for line in wrap(&[(CLOSING, normal)], width - size * 2.0, m) {
        lines.push((line, y, BODY_LEFT + size * 2.0));
        y += leading;
    }
    Body { lines }
}

/// Draws on the page.
struct Pen<'s, 'p, 'f> {
    surface: &'s mut Surface<'p>,
    font: &'f Font,
    m: &'f Metrics<'f>,
}

impl Pen<'_, '_, '_> {
    fn text(&mut self, x: f32, y: f32, text: &str, style: Style) {
        self.surface.set_fill(Some(fill(style.color)));
        self.surface
            .set_stroke(style.bold.then(|| stroke(style.color, style.size * 0.035)));
        self.surface.draw_text(
            Point::from_xy(x, y),
            self.font.clone(),
            style.size,
            text,
            false,
            TextDirection::Auto,
        );
        self.surface.set_stroke(None);
        if style.underline {
            let w = self.m.width(text, style.size);
            let uy = y + style.size * 0.22;
            self.line(x, uy, x + w, uy, style.color, 0.8);
        }
    }

    fn text_centered(&mut self, cx: f32, y: f32, text: &str, style: Style) {
        let w = self.m.width(text, style.size);
        self.text(cx - w / 2.0, y, text, style);
    }

    fn draw(&mut self, path: Option<krilla::geom::Path>, fill_with: Option<Rgb>, stroke_with: Option<(Rgb, f32)>) {
        if let Some(path) = path {
            self.surface.set_fill(fill_with.map(fill));
            self.surface.set_stroke(stroke_with.map(|(c, w)| stroke(c, w)));
            self.surface.draw_path(&path);
            self.surface.set_stroke(None);
        }
    }

    fn line(&mut self, x1: f32, y1: f32, x2: f32, y2: f32, color: Rgb, width: f32) {
        let mut pb = PathBuilder::new();
        pb.move_to(x1, y1);
        pb.line_to(x2, y2);
        self.draw(pb.finish(), None, Some((color, width)));
    }

    fn rect(&mut self, x: f32, y: f32, w: f32, h: f32, fill_with: Option<Rgb>, stroke_with: Option<(Rgb, f32)>) {
        let mut pb = PathBuilder::new();
        if let Some(r) = Rect::from_xywh(x, y, w, h) {
            pb.push_rect(r);
        }
        self.draw(pb.finish(), fill_with, stroke_with);
    }

    fn diamond(&mut self, cx: f32, cy: f32, r: f32, color: Rgb) {
        let mut pb = PathBuilder::new();
        pb.move_to(cx, cy - r);
        pb.line_to(cx + r, cy);
        pb.line_to(cx, cy + r);
        pb.line_to(cx - r, cy);
        pb.close();
        self.draw(pb.finish(), Some(color), None);
    }

    /// Paper, double border and corner brackets.
    fn frame(&mut self) {
        self.rect(0.0, 0.0, PAGE_W, PAGE_H, Some(PAPER), None);
        self.rect(22.0, 22.0, PAGE_W - 44.0, PAGE_H - 44.0, None, Some((RED, 4.0)));
        self.rect(30.0, 30.0, PAGE_W - 60.0, PAGE_H - 60.0, None, Some((RED, 0.8)));
        let (a, len) = (38.0, 30.0);
        for (x, y, dx, dy) in [
            (a, a, 1.0, 1.0),
            (PAGE_W - a, a, -1.0, 1.0),
            (a, PAGE_H - a, 1.0, -1.0),
            (PAGE_W - a, PAGE_H - a, -1.0, -1.0),
        ] {
            let mut pb = PathBuilder::new();
            pb.move_to(x + dx * len, y);
            pb.line_to(x, y);
            pb.line_to(x, y + dy * len);
            self.draw(pb.finish(), None, Some((RED, 1.6)));
            self.diamond(x + dx * 6.0, y + dy * 6.0, 2.2, RED);
        }
    }

    fn header(&mut self, t: &Texts) {
        let title = Style {
            size: 44.0,
            color: RED,
            bold: true,
            underline: false,
        };
        let title_y = 112.0;
        let tw = self.m.width(TITLE, title.size);
        self.text_centered(PAGE_W / 2.0, title_y, TITLE, title);
        let ly = title_y - title.size * 0.36;
        let gap = 22.0;
        let span = 110.0;
        let (left, right) = (PAGE_W / 2.0 - tw / 2.0 - gap, PAGE_W / 2.0 + tw / 2.0 + gap);
        self.line(left - span, ly, left, ly, RED, 1.0);
        self.line(right, ly, right + span, ly, RED, 1.0);
        self.diamond(left - span - 5.0, ly, 3.0, RED);
        self.diamond(right + span + 5.0, ly, 3.0, RED);
        self.text_centered(PAGE_W / 2.0, title_y + 24.0, SUBTITLE, Style::plain(10.0, MUTED));

        let no = Style::plain(11.0, MUTED);
        let text = format!("{LABEL_NO}{}", t.number);
        let w = self.m.width(&text, no.size);
        self.text(PAGE_W - 62.0 - w, 64.0, &text, no);
    }

    fn body(&mut self, body: &Body) {
        for (line, y, x) in &body.lines {
            for (text, style, dx) in &line.pieces {
                self.text(x + dx, *y, text, *style);
            }
        }
    }

    /// Society name and date, with the seal stamped over them.
    fn signature(&mut self, t: &Texts) {
        let max_w = 240.0;
        let mut size = 17.0;
        while size > 9.0 && self.m.width(&t.society, size) > max_w {
            size -= 0.5;
        }
        self.text_centered(SIGN_X, SIGN_Y, &t.society, Style::plain(size, INK));
        // The seal covers the name, as a stamp would; the date stays clear below it.
        self.seal(SIGN_X, SIGN_Y - 6.0, &t.society);
        self.text_centered(SIGN_X, SIGN_Y + 67.0, &t.date, Style::plain(15.0, INK));
    }

    fn seal(&mut self, cx: f32, cy: f32, name: &str) {
        self.surface.push_blend_mode(BlendMode::Multiply);
        self.surface
            .push_opacity(NormalizedF32::new(0.9).unwrap_or(NormalizedF32::ONE));

        self.draw(circle(cx, cy, SEAL_R - 1.5), None, Some((RED, 3.2)));
        self.draw(star(cx, cy, 17.0), Some(RED), None);

        // The name along the upper arc, each character turned to face outwards.
        let chars: Vec<char> = name.chars().collect();
        let n = chars.len();
        if n > 0 {
            let span = if n > 1 { ((n - 1) as f32 * 34.0).min(220.0) } else { 0.0 };
            let step = if n > 1 { span / (n - 1) as f32 } else { 0.0 };
            let r_top = SEAL_R - 7.5;
            let sx = 0.86; // seal lettering is condensed
            let mut size: f32 = 16.0;
            if n > 1 {
                // Neighbours must not touch at their inner edge (about 0.7 em further in):
                // 1.1 × the condensed width ≤ step × (r_top − 0.7 size).
                let step = step.to_radians();
                size = size.min(step * r_top / (1.1 * sx + 0.7 * step));
            }
            for (i, c) in chars.iter().enumerate() {
                let angle = -span / 2.0 + step * i as f32;
                let (sin, cos) = angle.to_radians().sin_cos();
                let text = c.to_string();
                let w = self.m.width(&text, size) * sx;
                // rotate(angle) then scale(sx, 1), placed at the seal's centre
                let tr = Transform::from_row(cos * sx, sin * sx, -sin, cos, cx, cy);
                self.surface.push_transform(&tr);
                self.surface.set_fill(Some(fill(RED)));
                self.surface.set_stroke(Some(stroke(RED, size * 0.04)));
                self.surface.draw_text(
                    Point::from_xy(-w / sx / 2.0, -r_top + size * 0.88),
                    self.font.clone(),
                    size,
                    &text,
                    true,
                    TextDirection::Auto,
                );
                self.surface.pop();
            }
        }

        // 电子捐赠专用章 below the star.
        let size = 9.5;
        let w = self.m.width(SEAL_BOTTOM, size) * 0.9;
        let tr = Transform::from_row(0.9, 0.0, 0.0, 1.0, cx - w / 2.0, cy + 33.0);
        self.surface.push_transform(&tr);
        self.surface.set_fill(Some(fill(RED)));
        self.surface.set_stroke(Some(stroke(RED, 0.35)));
        self.surface.draw_text(
            Point::from_xy(0.0, 0.0),
            self.font.clone(),
            size,
            SEAL_BOTTOM,
            true,
            TextDirection::Auto,
        );
        self.surface.set_stroke(None);
        self.surface.pop();

        self.surface.pop();
        self.surface.pop();
    }

    /// The QR code at the bottom left, on white with its quiet zone, and its caption.
    fn qr(&mut self, code: &qrcode::QrCode) {
        let n = code.width();
        let quiet = 4.0;
        let module = QR_SIZE / (n as f32 + 2.0 * quiet);
        self.rect(QR_X, QR_Y, QR_SIZE, QR_SIZE, Some(WHITE), Some((RED, 0.6)));
        let colors = code.to_colors();
        let mut pb = PathBuilder::new();
        for (row, cells) in colors.chunks(n.max(1)).enumerate() {
            // Merge horizontal runs of dark modules into one rectangle each.
            let mut col = 0;
            while col < cells.len() {
                if cells[col] == qrcode::Color::Dark {
                    let start = col;
                    while col < cells.len() && cells[col] == qrcode::Color::Dark {
                        col += 1;
                    }
                    let x = QR_X + (quiet + start as f32) * module;
                    let y = QR_Y + (quiet + row as f32) * module;
                    if let Some(r) = Rect::from_xywh(x, y, (col - start) as f32 * module, module) {
                        pb.push_rect(r);
                    }
                } else {
                    col += 1;
                }
            }
        }
        self.draw(pb.finish(), Some(INK), None);
        self.text_centered(
            QR_X + QR_SIZE / 2.0,
            QR_Y + QR_SIZE + 15.0,
            QR_CAPTION,
            Style::plain(9.5, MUTED),
        );
    }

    fn footer(&mut self) {
        self.text_centered(PAGE_W / 2.0, PAGE_H - 46.0, FOOTER, Style::plain(8.5, MUTED));
    }
}

/// A circle from four cubic Bézier arcs.
fn circle(cx: f32, cy: f32, r: f32) -> Option<krilla::geom::Path> {
    let k = 0.552_284_8 * r;
    let mut pb = PathBuilder::new();
    pb.move_to(cx + r, cy);
    pb.cubic_to(cx + r, cy + k, cx + k, cy + r, cx, cy + r);
    pb.cubic_to(cx - k, cy + r, cx - r, cy + k, cx - r, cy);
    pb.cubic_to(cx - r, cy - k, cx - k, cy - r, cx, cy - r);
    pb.cubic_to(cx + k, cy - r, cx + r, cy - k, cx + r, cy);
    pb.close();
    pb.finish()
}

/// A five-pointed star with one point up.
fn star(cx: f32, cy: f32, r: f32) -> Option<krilla::geom::Path> {
    let inner = r * 0.381_966;
    let mut pb = PathBuilder::new();
    for i in 0..10 {
        let radius = if i % 2 == 0 { r } else { inner };
        let angle = (i as f32 * 36.0 - 90.0).to_radians();
        let (x, y) = (cx + radius * angle.cos(), cy + radius * angle.sin());
        if i == 0 {
            pb.move_to(x, y);
        } else {
            pb.line_to(x, y);
        }
    }
    pb.close();
    pb.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    fn sample() -> CertificateData {
        CertificateData {
            society_name: "济南市红十字会".to_owned(),
            certificate_no: "JN-2026-000123".to_owned(),
            donor_name: "张三丰".to_owned(),
            amount_fen: 123_456,
            amount_capitals: "壹仟贰佰叁拾肆元伍角陆分".to_owned(),
            project_name: "白内障复明工程".to_owned(),
            date: chrono::NaiveDate::from_ymd_opt(2026, 3, 5).unwrap_or_default(),
            goods: None,
            verify_url: "https://boai.example.org/verify/JN-2026-000123?c=7f3a9b".to_owned(),
        }
    }

    fn font() -> Option<CertificateFont> {
        match CertificateFont::load(None) {
            Ok(font) => Some(font),
            Err(CertificateError::NoFont(tried)) => {
                println!("note: no CJK font on this machine (tried {tried:?}); skipping");
                None
            }
            Err(e) => panic!("font: {e}"),
        }
    }

    fn pdftotext(pdf: &[u8]) -> String {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("certificate.pdf");
        std::fs::write(&path, pdf).unwrap();
        let out = Command::new("pdftotext")
            .arg("-layout")
            .arg(&path)
            .arg("-")
            .output()
            .expect("pdftotext (poppler-utils) must be installed");
        assert!(
            out.status.success(),
            "pdftotext failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    #[test]
    fn text_is_extractable() {
        let Some(font) = font() else { return };
        let pdf = render_certificate(&sample(), &font).unwrap();
        assert!(pdf.starts_with(b"%PDF-"));
        let text = pdftotext(&pdf);
        for needle in [
            "张三丰",
            "1,234.56",
            "壹仟贰佰叁拾肆元伍角陆分",
            "白内障复明工程",
            "JN-2026-000123",
            "济南市红十字会",
        ] {
            assert!(text.contains(needle), "{needle:?} missing from:\n{text}");
        }
        assert!(text.contains("2026年3月5日"), "{text}");
        assert!(text.contains("特发此证，以资感谢。"), "{text}");
        // The font is embedded as a subset, not whole (Noto CJK is 20+ MB).
        assert!(pdf.len() < 400_000, "PDF is {} bytes", pdf.len());
    }

    #[test]
    fn goods_and_long_text_wrap() {
        let Some(font) = font() else { return };
        let mut data = sample();
        data.goods = Some("医用口罩 10000 只, 估值 ¥5,000.00".to_owned());
        data.project_name = "“博爱家园”社区应急救护能力提升暨白内障复明工程（二〇二六年度第一期）".repeat(2);
        let pdf = render_certificate(&data, &font).unwrap();
        let text = pdftotext(&pdf);
        assert!(text.contains("医用口罩 10000 只, 估值 ¥5,000.00"), "{text}");
        assert!(text.contains("二〇二六年度第一期"), "{text}");

        data.project_name = "很长的项目名称".repeat(200);
        assert!(matches!(
            render_certificate(&data, &font),
            Err(CertificateError::TooLong)
        ));
    }

    #[test]
    fn goods_only_donation_has_no_amount_rows() {
        let Some(font) = font() else { return };
        let mut data = sample();
        data.amount_fen = 0;
        data.amount_capitals = "零元整".to_owned();
        data.goods = Some("医用口罩 10000 只".to_owned());
        let text = pdftotext(&render_certificate(&data, &font).unwrap());
        assert!(text.contains("医用口罩 10000 只"), "{text}");
        assert!(!text.contains("零元整"), "{text}");
        assert!(!text.contains("¥0.00"), "{text}");
    }

    #[test]
    fn missing_glyphs_are_refused() {
        let Some(font) = font() else { return };
        assert!(font.missing_chars("兹收到张三丰捐赠 ¥1,234.56（大写）").is_empty());
        // U+10FFFD is a private-use code point; U+2A6D6 (CJK Ext. B) is not in Noto CJK.
        assert_eq!(
            font.missing_chars("张\u{10FFFD}三\u{2A6D6}\u{10FFFD}"),
            vec!['\u{10FFFD}', '\u{2A6D6}']
        );
        let mut data = sample();
        data.donor_name = "张\u{10FFFD}".to_owned();
        match render_certificate(&data, &font) {
            Err(CertificateError::MissingGlyphs(chars)) => assert_eq!(chars, vec!['\u{10FFFD}']),
            other => panic!("expected MissingGlyphs, got {other:?}"),
        }
        data.donor_name = "张三".to_owned();
        data.project_name = "工程\u{2A6D6}".to_owned();
        assert!(
            matches!(render_certificate(&data, &font), Err(CertificateError::MissingGlyphs(c)) if c == ['\u{2A6D6}'])
        );
    }

    #[test]
    fn negative_amount_is_refused() {
        let Some(font) = font() else { return };
        let mut data = sample();
        data.amount_fen = -1;
        assert!(matches!(
            render_certificate(&data, &font),
            Err(CertificateError::NegativeAmount(-1))
        ));
    }

    #[test]
    fn output_is_deterministic() {
        let Some(font) = font() else { return };
        assert_eq!(
            render_certificate(&sample(), &font).unwrap(),
            render_certificate(&sample(), &font).unwrap()
        );
    }

    #[test]
    fn picks_the_simplified_chinese_face() {
        let Some(font) = font() else { return };
        if font.family().starts_with("Noto") {
            assert!(font.family().ends_with(" SC"), "{}", font.family());
            assert_eq!(font.index(), 2);
        }
        let err = CertificateFont::load(Some(Path::new("/nonexistent/font.ttc"))).unwrap_err();
        assert!(matches!(err, CertificateError::FontIo { .. }));
        assert!(matches!(
            CertificateFont::from_bytes(b"not a font".to_vec(), None),
            Err(CertificateError::InvalidFont(_))
        ));
    }

    #[test]
    fn font_is_shareable() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<CertificateFont>();
    }

    #[test]
    fn wrap_keeps_every_visible_character() {
        let Some(font) = font() else { return };
        let face = font.face().unwrap();
        let m = Metrics::new(&face);
        let alphabet: Vec<char> = "红十字会捐赠 项目，。（）AbcXyz0123 ,.¥-".chars().collect();
        let mut seed: u64 = 0x2545_F491_4F6C_DD1D;
        for round in 0..300 {
            let len = round % 90;
            let text: String = (0..len)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    alphabet[(seed % alphabet.len() as u64) as usize]
                })
                .collect();
            let style = Style::plain(12.0 + (round % 5) as f32, INK);
            let max_width = 40.0 + (round % 7) as f32 * 30.0;
            let lines = wrap(&[(text.as_str(), style)], max_width, &m);
            let joined: String = lines
                .iter()
                .flat_map(|l| l.pieces.iter().map(|p| p.0.as_str()))
                .collect();
            let visible = |s: &str| s.chars().filter(|c| *c != ' ').collect::<String>();
            assert_eq!(visible(&joined), visible(&text), "{text:?} at {max_width}");
            for line in &lines {
                // A line is over width only by hanging punctuation or an unbreakable word.
                let text: String = line.pieces.iter().map(|p| p.0.as_str()).collect();
                let hangs = text.chars().last().is_some_and(no_line_start);
                let one_word = text.chars().all(is_word_char);
                assert!(
                    line.width <= max_width + 0.01 || hangs || one_word,
                    "{text:?} {} > {max_width}",
                    line.width
                );
            }
        }
    }

    #[test]
    fn helpers() {
        assert_eq!(format_yuan(123_456), "1,234.56");
        assert_eq!(format_yuan(5), "0.05");
        assert_eq!(format_yuan(100_000_000), "1,000,000.00");
        assert_eq!(format_yuan(99_999), "999.99");
        assert_eq!(
            format_date(chrono::NaiveDate::from_ymd_opt(2026, 12, 31).unwrap()),
            "2026年12月31日"
        );
        assert_eq!(normalize("  医用口罩\n 10000\t只 "), "医用口罩 10000 只");
    }

    /// Writes the sample to $CERT_PREVIEW (a path) for a visual check; does nothing otherwise.
    #[test]
    fn preview() {
        let (Some(font), Ok(path)) = (font(), std::env::var("CERT_PREVIEW")) else {
            return;
        };
        let mut data = sample();
        if std::env::var("CERT_PREVIEW_GOODS").is_ok() {
            data.goods = Some("医用口罩 10000 只, 估值 ¥5,000.00".to_owned());
        }
        if std::env::var("CERT_PREVIEW_LONG").is_ok() {
            data.society_name = "新疆维吾尔自治区红十字会".to_owned();
            data.donor_name = "Alexander von Humboldt-Stiftung 北京代表处".to_owned();
            data.project_name = "“博爱家园”社区应急救护能力提升暨白内障复明工程（二〇二六年度第一期）".repeat(2);
            data.amount_fen = 9_876_543_210_005;
            data.amount_capitals = "玖佰捌拾柒亿陆仟伍佰肆拾叁万贰仟壹佰元零伍分".to_owned();
        }
        std::fs::write(path, render_certificate(&data, &font).unwrap()).unwrap();
    }
}
