//! Server-rendered SVG charts (horizontal bar, line) with correct Chinese labels.
//!
//! Rules: no JavaScript and no font files — text is SVG `<text>` drawn by the
//! browser with a CJK font stack; CSP-safe (presentation attributes such as
//! `fill="…"` only, never a `style` attribute or `<style>` element); every
//! piece of caller text is XML-escaped (and XML-invalid control characters are
//! dropped); each chart is `role="img"` with `aria-label`, `<title>` and a
//! `<desc>` listing every value for screen readers; the width is fluid (only a
//! `viewBox`, no fixed size); no element ids, so any number of charts can share
//! a page. An empty chart renders a small "暂无数据" placeholder.

use std::fmt::Write as _;

/// Font stack for all chart text (a presentation attribute on the root `<svg>`).
const FONT_FAMILY: &str = "Noto Sans CJK SC, Noto Sans SC, PingFang SC, Microsoft YaHei, sans-serif";
/// Width of the viewBox; the SVG scales to its container.
const VIEW_W: f64 = 640.0;
/// Outer padding.
const PAD: f64 = 16.0;
/// Height reserved for the title row.
const TITLE_H: f64 = 44.0;
const TITLE_SIZE: f64 = 18.0;
const LABEL_SIZE: f64 = 15.0;
const VALUE_SIZE: f64 = 14.0;
const AXIS_SIZE: f64 = 13.0;

const BAR_FILL: &str = "#c8102e";
const LINE_STROKE: &str = "#c8102e";
const TEXT_FILL: &str = "#1f1f1f";
const MUTED_FILL: &str = "#5c5c5c";
const GRID_STROKE: &str = "#e3e3e3";
const AXIS_STROKE: &str = "#9a9a9a";

/// Text shown (and announced) when a chart has nothing to draw.
const NO_DATA: &str = "暂无数据";
/// Accessible name used when the caller gave an empty title.
const FALLBACK_TITLE: &str = "图表";

/// One bar of a [`BarChart`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bar {
    pub label: String,
    pub value: i64,
}

/// A horizontal bar chart: labels on the left, bars to the right, each value
/// (with thousands separators and the unit) at the end of its bar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BarChart {
    pub title: String,
    /// Unit appended to every value, e.g. "元", "人", "%" (may be empty).
    pub unit: String,
    pub bars: Vec<Bar>,
}

/// Row height and bar thickness of a [`BarChart`].
const BAR_ROW_H: f64 = 36.0;
const BAR_H: f64 = 22.0;
/// The label column never takes more than this share of the width; longer
/// labels are cut with "…" (the full label stays in the tooltip and `<desc>`).
const LABEL_COL_MAX_SHARE: f64 = 0.4;
const VALUE_COL_MAX: f64 = 200.0;
const GAP: f64 = 10.0;

impl BarChart {
    /// Render as a standalone `<svg>` element (embeddable inline in HTML).
    pub fn to_svg(&self) -> String {
        if self.bars.is_empty() {
            return empty_svg(&self.title);
        }
        let title_h = if self.title.trim().is_empty() { PAD } else { TITLE_H };
        let n = self.bars.len() as f64;
        let height = title_h + n * BAR_ROW_H + PAD;

        let max_label_w = self
            .bars
            .iter()
            .map(|b| text_width(&b.label, LABEL_SIZE))
            .fold(0.0, f64::max);
        let label_col = max_label_w.min(VIEW_W * LABEL_COL_MAX_SHARE).ceil();
        let label_gap = if label_col > 0.0 { GAP } else { 0.0 };
        let value_texts: Vec<String> = self
            .bars
            .iter()
            .map(|b| with_unit(&group_thousands(i128::from(b.value)), &self.unit))
            .collect();
        let value_col = value_texts
            .iter()
            .map(|t| text_width(t, VALUE_SIZE))
            .fold(0.0, f64::max)
            .min(VALUE_COL_MAX)
            + 6.0;
        let bar_x = PAD + label_col + label_gap;
        let bar_max = (VIEW_W - PAD - value_col - bar_x).max(40.0);
        let max_value = self.bars.iter().map(|b| b.value.max(0)).max().unwrap_or(0);

        let mut svg = svg_open(height, &self.title, &bar_desc(self));
        if !self.title.trim().is_empty() {
            push_title_text(&mut svg, &self.title);
        }
        for (i, (bar, value_text)) in self.bars.iter().zip(&value_texts).enumerate() {
            let row_y = title_h + i as f64 * BAR_ROW_H;
            let mid = row_y + BAR_ROW_H / 2.0;
            let width = if bar.value <= 0 || max_value <= 0 {
                0.0
            } else {
                // Keep tiny positive values visible.
                (bar.value as f64 / max_value as f64 * bar_max).max(2.0)
            };
            let shown_label = truncate_to_width(&bar.label, label_col, LABEL_SIZE);
            let _ = write!(
                svg,
                "<g><title>{tip}</title>\
                 <text x=\"{lx}\" y=\"{mid}\" dy=\"0.35em\" text-anchor=\"end\" font-size=\"{ls}\" fill=\"{tf}\">{label}</text>\
                 <rect x=\"{bx}\" y=\"{by}\" width=\"{bw}\" height=\"{bh}\" rx=\"3\" fill=\"{bf}\"/>\
                 <text x=\"{vx}\" y=\"{mid}\" dy=\"0.35em\" font-size=\"{vs}\" fill=\"{mf}\">{value}</text></g>",
                tip = escape(&format!("{}：{}", bar.label, value_text)),
                lx = num(PAD + label_col),
                mid = num(mid),
                ls = num(LABEL_SIZE),
                tf = TEXT_FILL,
                label = escape(&shown_label),
                bx = num(bar_x),
                by = num(mid - BAR_H / 2.0),
                bw = num(width),
                bh = num(BAR_H),
                bf = BAR_FILL,
                vx = num(bar_x + width + 6.0),
                vs = num(VALUE_SIZE),
                mf = MUTED_FILL,
                value = escape(value_text),
            );
        }
        svg.push_str("</svg>");
        svg
    }
}

fn bar_desc(chart: &BarChart) -> String {
    chart
        .bars
        .iter()
        .map(|b| {
            format!(
                "{}：{}",
                b.label,
                with_unit(&group_thousands(i128::from(b.value)), &chart.unit)
            )
        })
        .collect::<Vec<_>>()
        .join("；")
}

/// A line chart over labelled points (e.g. months "2026-01"), with a y axis of
/// 4–6 ticks on a 1/2/5×10ⁿ step that always includes zero.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineChart {
    pub title: String,
    /// Unit of the y values, shown as "单位：…" and in the description.
    pub unit: String,
    /// `(x label, y value)` in drawing order.
    pub points: Vec<(String, i64)>,
}

const LINE_PLOT_H: f64 = 220.0;
const X_LABEL_H: f64 = 34.0;
const POINT_R: f64 = 4.0;

impl LineChart {
    /// Render as a standalone `<svg>` element (embeddable inline in HTML).
    pub fn to_svg(&self) -> String {
        if self.points.is_empty() {
            return empty_svg(&self.title);
        }
        let has_title = !self.title.trim().is_empty();
        let has_unit = !self.unit.trim().is_empty();
        let top = if has_title || has_unit { TITLE_H } else { PAD } + 8.0;
        let height = top + LINE_PLOT_H + X_LABEL_H + PAD;

        let min_v = self.points.iter().map(|p| p.1).min().unwrap_or(0);
        let max_v = self.points.iter().map(|p| p.1).max().unwrap_or(0);
        let ticks = nice_ticks(min_v, max_v);
        let lo = ticks.first().copied().unwrap_or(0);
        let hi = ticks.last().copied().unwrap_or(1);
        let span = if hi > lo { (hi - lo) as f64 } else { 1.0 };

        let tick_texts: Vec<String> = ticks.iter().map(|t| group_thousands(*t)).collect();
        let y_label_w = tick_texts
            .iter()
            .map(|t| text_width(t, AXIS_SIZE))
            .fold(0.0, f64::max)
            .ceil();
        let plot_x0 = PAD + y_label_w + 8.0;
        let plot_x1 = VIEW_W - PAD - 8.0;
        let plot_y1 = top + LINE_PLOT_H;
        let y_of = |v: i128| plot_y1 - (v - lo) as f64 / span * LINE_PLOT_H;

        let n = self.points.len();
        let x_of = |i: usize| {
            if n == 1 {
                (plot_x0 + plot_x1) / 2.0
            } else {
                plot_x0 + 12.0 + i as f64 * (plot_x1 - plot_x0 - 24.0) / (n - 1) as f64
            }
        };

        let desc = self
            .points
            .iter()
            .map(|(l, v)| format!("{l}：{}", with_unit(&group_thousands(i128::from(*v)), &self.unit)))
            .collect::<Vec<_>>()
            .join("；");
        let mut svg = svg_open(height, &self.title, &desc);
        if has_title {
            push_title_text(&mut svg, &self.title);
        }
        if has_unit {
            let _ = write!(
                svg,
                "<text x=\"{x}\" y=\"28\" text-anchor=\"end\" font-size=\"{s}\" fill=\"{f}\">{t}</text>",
                x = num(VIEW_W - PAD),
                s = num(AXIS_SIZE),
                f = MUTED_FILL,
                t = escape(&format!("单位：{}", self.unit)),
            );
        }

        // Grid lines and y tick labels.
        svg.push_str("<g>");
        for (tick, text) in ticks.iter().zip(&tick_texts) {
            let y = y_of(*tick);
            let stroke = if *tick == 0 { AXIS_STROKE } else { GRID_STROKE };
            let _ = write!(
                svg,
                "<line x1=\"{x0}\" y1=\"{y}\" x2=\"{x1}\" y2=\"{y}\" stroke=\"{stroke}\" stroke-width=\"1\"/>\
                 <text x=\"{tx}\" y=\"{y}\" dy=\"0.35em\" text-anchor=\"end\" font-size=\"{s}\" fill=\"{f}\">{text}</text>",
                x0 = num(plot_x0),
                x1 = num(plot_x1),
                y = num(y),
                tx = num(plot_x0 - 8.0),
                s = num(AXIS_SIZE),
                f = MUTED_FILL,
                text = escape(text),
            );
        }
        svg.push_str("</g>");

        // X labels: thin them out so they never overlap; the latest is always shown.
        let max_label_w = self
            .points
            .iter()
            .map(|(l, _)| text_width(l, AXIS_SIZE))
            .fold(0.0, f64::max);
        let slot = if n > 1 {
            (plot_x1 - plot_x0 - 24.0) / (n - 1) as f64
        } else {
            plot_x1 - plot_x0
        };
        let every = ((max_label_w + 8.0) / slot.max(1.0)).ceil().max(1.0) as usize;
        let max_x_label = (slot * every as f64 - 8.0).max(AXIS_SIZE * 2.0);
        svg.push_str("<g>");
        for (i, (label, _)) in self.points.iter().enumerate() {
            if !(n - 1 - i).is_multiple_of(every) {
                continue;
            }
            let _ = write!(
                svg,
                "<text x=\"{x}\" y=\"{y}\" text-anchor=\"middle\" font-size=\"{s}\" fill=\"{f}\">{t}</text>",
                x = num(x_of(i)),
                y = num(plot_y1 + 22.0),
                s = num(AXIS_SIZE),
                f = MUTED_FILL,
                t = escape(&truncate_to_width(label, max_x_label, AXIS_SIZE)),
            );
        }
        svg.push_str("</g>");

        let coords: Vec<String> = self
            .points
            .iter()
            .enumerate()
            .map(|(i, (_, v))| format!("{},{}", num(x_of(i)), num(y_of(i128::from(*v)))))
            .collect();
        let _ = write!(
            svg,
            "<polyline points=\"{}\" fill=\"none\" stroke=\"{LINE_STROKE}\" stroke-width=\"2.5\" stroke-linejoin=\"round\" stroke-linecap=\"round\"/>",
            coords.join(" ")
        );
        for (i, (label, v)) in self.points.iter().enumerate() {
            let _ = write!(
                svg,
                "<circle cx=\"{cx}\" cy=\"{cy}\" r=\"{r}\" fill=\"#ffffff\" stroke=\"{LINE_STROKE}\" stroke-width=\"2\"><title>{tip}</title></circle>",
                cx = num(x_of(i)),
                cy = num(y_of(i128::from(*v))),
                r = num(POINT_R),
                tip = escape(&format!(
                    "{label}：{}",
                    with_unit(&group_thousands(i128::from(*v)), &self.unit)
                )),
            );
        }
        svg.push_str("</svg>");
        svg
    }
}

/// A column chart of two series side by side per label (e.g. money received
/// and spent per month), with a legend and the same y axis as [`LineChart`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairedColumnChart {
    pub title: String,
    /// Unit of the values, shown as "单位：…" and in the description.
    pub unit: String,
    /// The two series' names, as the legend shows them.
    pub names: (String, String),
    /// `(x label, first value, second value)` in drawing order.
    pub columns: Vec<(String, i64, i64)>,
}

const SECOND_FILL: &str = "#5c6b7a";
const LEGEND_H: f64 = 24.0;

impl PairedColumnChart {
    /// Render as a standalone `<svg>` element (embeddable inline in HTML).
    pub fn to_svg(&self) -> String {
        if self.columns.is_empty() {
            return empty_svg(&self.title);
        }
        let has_title = !self.title.trim().is_empty();
        let has_unit = !self.unit.trim().is_empty();
        let legend_y = if has_title || has_unit { TITLE_H } else { PAD } + 6.0;
        let top = legend_y + LEGEND_H;
        let height = top + LINE_PLOT_H + X_LABEL_H + PAD;
        let min_v = self.columns.iter().map(|c| c.1.min(c.2)).min().unwrap_or(0);
        let max_v = self.columns.iter().map(|c| c.1.max(c.2)).max().unwrap_or(0);
        let ticks = nice_ticks(min_v, max_v);
        let lo = ticks.first().copied().unwrap_or(0);
        let hi = ticks.last().copied().unwrap_or(1);
        let span = if hi > lo { (hi - lo) as f64 } else { 1.0 };
        let tick_texts: Vec<String> = ticks.iter().map(|t| group_thousands(*t)).collect();
        let y_label_w = tick_texts
            .iter()
            .map(|t| text_width(t, AXIS_SIZE))
            .fold(0.0, f64::max)
            .ceil();
        let plot_x0 = PAD + y_label_w + 8.0;
        let plot_x1 = VIEW_W - PAD;
        let plot_y1 = top + LINE_PLOT_H;
        let y_of = |v: i128| plot_y1 - (v - lo) as f64 / span * LINE_PLOT_H;
        let n = self.columns.len();
        let slot = (plot_x1 - plot_x0) / n as f64;
        let bar_w = (slot * 0.36).min(28.0);

        let (first, second) = &self.names;
        let desc = self
            .columns
            .iter()
            .map(|(l, a, b)| {
                format!(
                    "{l}：{first} {}，{second} {}",
                    with_unit(&group_thousands(i128::from(*a)), &self.unit),
                    with_unit(&group_thousands(i128::from(*b)), &self.unit)
                )
            })
            .collect::<Vec<_>>()
            .join("；");
        let mut svg = svg_open(height, &self.title, &desc);
        if has_title {
            push_title_text(&mut svg, &self.title);
        }
        if has_unit {
            let _ = write!(
                svg,
                "<text x=\"{x}\" y=\"28\" text-anchor=\"end\" font-size=\"{s}\" fill=\"{f}\">{t}</text>",
                x = num(VIEW_W - PAD),
                s = num(AXIS_SIZE),
                f = MUTED_FILL,
                t = escape(&format!("单位：{}", self.unit)),
            );
        }
        // Legend.
        let mut lx = plot_x0;
        for (name, fill) in [(first, BAR_FILL), (second, SECOND_FILL)] {
            let _ = write!(
                svg,
                "<rect x=\"{x}\" y=\"{y}\" width=\"12\" height=\"12\" fill=\"{fill}\"/>\
                 <text x=\"{tx}\" y=\"{ty}\" dy=\"0.35em\" font-size=\"{s}\" fill=\"{f}\">{t}</text>",
                x = num(lx),
                y = num(legend_y),
                tx = num(lx + 18.0),
                ty = num(legend_y + 6.0),
                s = num(AXIS_SIZE),
                f = TEXT_FILL,
                t = escape(name),
            );
            lx += 18.0 + text_width(name, AXIS_SIZE) + 20.0;
        }
        svg.push_str("<g>");
        for (tick, text) in ticks.iter().zip(&tick_texts) {
            let y = y_of(*tick);
            let stroke = if *tick == 0 { AXIS_STROKE } else { GRID_STROKE };
            let _ = write!(
                svg,
                "<line x1=\"{x0}\" y1=\"{y}\" x2=\"{x1}\" y2=\"{y}\" stroke=\"{stroke}\" stroke-width=\"1\"/>\
                 <text x=\"{tx}\" y=\"{y}\" dy=\"0.35em\" text-anchor=\"end\" font-size=\"{s}\" fill=\"{f}\">{text}</text>",
                x0 = num(plot_x0),
                x1 = num(plot_x1),
                y = num(y),
                tx = num(plot_x0 - 8.0),
                s = num(AXIS_SIZE),
                f = MUTED_FILL,
                text = escape(text),
            );
        }
        svg.push_str("</g>");
        let max_label_w = self
            .columns
            .iter()
            .map(|(l, _, _)| text_width(l, AXIS_SIZE))
            .fold(0.0, f64::max);
        let every = ((max_label_w + 8.0) / slot.max(1.0)).ceil().max(1.0) as usize;
        let zero = y_of(0);
        for (i, (label, a, b)) in self.columns.iter().enumerate() {
            let cx = plot_x0 + slot * (i as f64 + 0.5);
            for (v, fill, x, name) in [(a, BAR_FILL, cx - bar_w, first), (b, SECOND_FILL, cx, second)] {
                let y = y_of(i128::from(*v));
                let _ = write!(
                    svg,
                    "<rect x=\"{x}\" y=\"{y}\" width=\"{w}\" height=\"{h}\" fill=\"{fill}\"><title>{tip}</title></rect>",
                    x = num(x),
                    y = num(y.min(zero)),
                    w = num(bar_w),
                    h = num((zero - y).abs()),
                    tip = escape(&format!(
                        "{label} {name}：{}",
                        with_unit(&group_thousands(i128::from(*v)), &self.unit)
                    )),
                );
            }
            if (n - 1 - i).is_multiple_of(every) {
                let _ = write!(
                    svg,
                    "<text x=\"{x}\" y=\"{y}\" text-anchor=\"middle\" font-size=\"{s}\" fill=\"{f}\">{t}</text>",
                    x = num(cx),
                    y = num(plot_y1 + 22.0),
                    s = num(AXIS_SIZE),
                    f = MUTED_FILL,
                    t = escape(&truncate_to_width(
                        label,
                        (slot * every as f64 - 4.0).max(AXIS_SIZE * 2.0),
                        AXIS_SIZE
                    )),
                );
            }
        }
        svg.push_str("</svg>");
        svg
    }
}

/// Y-axis ticks: 4–6 evenly spaced values (4–5 whenever a 1/2/5×10ⁿ step
/// allows), always including 0, covering `min..=max`.
fn nice_ticks(min: i64, max: i64) -> Vec<i128> {
    let lo_v = i128::from(min.min(0));
    let hi_v = i128::from(max.max(0));
    let intervals = |step: i128| hi_v.div_euclid(step) + i128::from(hi_v.rem_euclid(step) != 0) - lo_v.div_euclid(step);
    // Candidate steps in increasing order: 1, 2, 5, 10, 20, 50, ...
    let mut candidates = Vec::new();
    let mut magnitude: i128 = 1;
    while magnitude <= 10_i128.pow(20) {
        for m in [1, 2, 5] {
            candidates.push(magnitude * m);
        }
        magnitude *= 10;
    }
    let pick = |limit: i128| candidates.iter().copied().find(|s| intervals(*s) <= limit);
    let step = match pick(4) {
        Some(s) if intervals(s) >= 3 => s,
        _ => pick(5).unwrap_or(1),
    };
    let lo = lo_v.div_euclid(step) * step;
    let mut hi = lo + intervals(step) * step;
    // Tiny integer ranges (e.g. all values 0 or 1): still draw 4 ticks.
    if (hi - lo) / step < 3 {
        hi = lo + 3 * step;
    }
    let mut ticks = Vec::new();
    let mut t = lo;
    while t <= hi {
        ticks.push(t);
        t += step;
    }
    ticks
}

/// Opening `<svg>` with accessibility metadata; the caller closes it.
fn svg_open(height: f64, title: &str, desc: &str) -> String {
    let name = if title.trim().is_empty() { FALLBACK_TITLE } else { title };
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"{name}\" font-family=\"{FONT_FAMILY}\">\
         <title>{name}</title><desc>{desc}</desc>",
        w = num(VIEW_W),
        h = num(height),
        name = escape(name),
        desc = escape(desc),
    )
}

fn push_title_text(svg: &mut String, title: &str) {
    let _ = write!(
        svg,
        "<text x=\"{x}\" y=\"28\" font-size=\"{s}\" font-weight=\"bold\" fill=\"{f}\">{t}</text>",
        x = num(PAD),
        s = num(TITLE_SIZE),
        f = TEXT_FILL,
        t = escape(&truncate_to_width(title, VIEW_W - 2.0 * PAD - 120.0, TITLE_SIZE)),
    );
}

/// The small placeholder chart shown when there is no data.
fn empty_svg(title: &str) -> String {
    let has_title = !title.trim().is_empty();
    let height = if has_title { 110.0 } else { 72.0 };
    let mut svg = svg_open(height, title, NO_DATA);
    if has_title {
        push_title_text(&mut svg, title);
    }
    let _ = write!(
        svg,
        "<text x=\"{x}\" y=\"{y}\" dy=\"0.35em\" text-anchor=\"middle\" font-size=\"{s}\" fill=\"{f}\">{NO_DATA}</text></svg>",
        x = num(VIEW_W / 2.0),
        y = num(height - 36.0),
        s = num(LABEL_SIZE),
        f = MUTED_FILL,
    );
    svg
}

/// Escape text for XML element content and attribute values, dropping
/// characters XML 1.0 forbids (so the output always parses).
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' | '\r' => out.push(' '),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

/// Whether a character is drawn about 1 em wide (CJK, kana, Hangul, full-width
/// forms, most emoji); everything else is estimated at 0.6 em. Shared with
/// the Excel export's column widths.
pub(crate) fn is_wide(c: char) -> bool {
    matches!(c as u32,
        0x1100..=0x115F
        | 0x2E80..=0x303E
        | 0x3041..=0x33FF
        | 0x3400..=0x4DBF
        | 0x4E00..=0x9FFF
        | 0xA000..=0xA4CF
        | 0xAC00..=0xD7A3
        | 0xF900..=0xFAFF
        | 0xFE10..=0xFE19
        | 0xFE30..=0xFE6F
        | 0xFF00..=0xFF60
        | 0xFFE0..=0xFFE6
        | 0x1F300..=0x1F64F
        | 0x1F900..=0x1F9FF
        | 0x20000..=0x3FFFD)
}

fn char_em(c: char) -> f64 {
    if is_wide(c) {
        1.0
    } else {
        0.6
    }
}

/// Estimated rendered width of `s` at `font_size`.
fn text_width(s: &str, font_size: f64) -> f64 {
    s.chars().map(char_em).sum::<f64>() * font_size
}

/// Cut `s` so it fits in `max_w` at `font_size`, ending with "…" when cut.
fn truncate_to_width(s: &str, max_w: f64, font_size: f64) -> String {
    if text_width(s, font_size) <= max_w {
        return s.to_owned();
    }
    let budget = max_w - font_size; // room for the ellipsis (1 em)
    let mut used = 0.0;
    let mut out = String::new();
    for c in s.chars() {
        let w = char_em(c) * font_size;
        if used + w > budget {
            break;
        }
        used += w;
        out.push(c);
    }
    out.push('…');
    out
}

/// `1234567` → `"1,234,567"`, `-1234` → `"-1,234"`.
fn group_thousands(v: i128) -> String {
    let sign = if v < 0 { "-" } else { "" };
    let grouped = match u64::try_from(v.unsigned_abs()) {
        Ok(n) => boai_domain::money::group_thousands(n),
        Err(_) => v.unsigned_abs().to_string(),
    };
    format!("{sign}{grouped}")
}

/// Append the unit: directly after the number for CJK units and "%"/"‰",
/// after a space otherwise ("12 kg").
fn with_unit(number: &str, unit: &str) -> String {
    let unit = unit.trim();
    match unit.chars().next() {
        None => number.to_owned(),
        Some(c) if is_wide(c) || c == '%' || c == '‰' => format!("{number}{unit}"),
        Some(_) => format!("{number} {unit}"),
    }
}

/// Coordinates with at most one decimal, no trailing ".0".
fn num(v: f64) -> String {
    let r = (v * 10.0).round() / 10.0;
    if r == r.trunc() {
        format!("{}", r as i64)
    } else {
        format!("{r:.1}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bars(items: &[(&str, i64)]) -> BarChart {
        BarChart {
            title: "各地区捐款".to_owned(),
            unit: "元".to_owned(),
            bars: items
                .iter()
                .map(|(l, v)| Bar {
                    label: (*l).to_owned(),
                    value: *v,
                })
                .collect(),
        }
    }

    fn parse(svg: &str) -> roxmltree::Document<'_> {
        roxmltree::Document::parse(svg).unwrap()
    }

    fn count(doc: &roxmltree::Document<'_>, tag: &str) -> usize {
        doc.descendants().filter(|n| n.has_tag_name(tag)).count()
    }

    fn view_height(svg: &str) -> f64 {
        let doc = parse(svg);
        let vb = doc.root_element().attribute("viewBox").unwrap();
        let parts: Vec<f64> = vb.split(' ').map(|p| p.parse().unwrap()).collect();
        assert_eq!(parts.len(), 4);
        assert_eq!(parts[2], VIEW_W);
        parts[3]
    }

    fn texts(doc: &roxmltree::Document<'_>) -> Vec<String> {
        doc.descendants()
            .filter(|n| n.has_tag_name("text"))
            .map(|n| n.text().unwrap_or_default().to_owned())
            .collect()
    }

    #[test]
    fn paired_columns_parse_with_a_legend_and_every_value_described() {
        let chart = PairedColumnChart {
            title: "每月收支".to_owned(),
            unit: "元".to_owned(),
            names: ("收到".to_owned(), "支出".to_owned()),
            columns: vec![("2026-01".to_owned(), 1_200, 300), ("2026-02".to_owned(), 0, 4_500)],
        };
        let svg = chart.to_svg();
        let doc = parse(&svg);
        assert_eq!(count(&doc, "rect"), 2 + 4, "two legend keys and four columns");
        let all = texts(&doc);
        assert!(all.iter().any(|t| t == "收到") && all.iter().any(|t| t == "2026-02"));
        let desc = doc.descendants().find(|n| n.has_tag_name("desc")).unwrap();
        assert!(desc.text().unwrap().contains("2026-02：收到 0元，支出 4,500元"));
        assert!(view_height(&svg) > 200.0);
        let empty = PairedColumnChart {
            columns: vec![],
            ..chart
        };
        assert!(empty.to_svg().contains(NO_DATA));
    }

    #[test]
    fn bar_chart_parses_and_is_accessible() {
        let chart = bars(&[("北京市", 1_234_567), ("上海", 800), ("广州", 0)]);
        let svg = chart.to_svg();
        let doc = parse(&svg);
        let root = doc.root_element();
        assert_eq!(root.tag_name().name(), "svg");
        assert_eq!(root.attribute("role"), Some("img"));
        assert_eq!(root.attribute("aria-label"), Some("各地区捐款"));
        assert!(root.attribute("width").is_none() && root.attribute("height").is_none());
        assert_eq!(root.attribute("font-family"), Some(FONT_FAMILY));
        let first = root.first_element_child().unwrap();
        assert!(first.has_tag_name("title"));
        assert_eq!(first.text(), Some("各地区捐款"));
        let desc = root
            .children()
            .find(|n| n.has_tag_name("desc"))
            .unwrap()
            .text()
            .unwrap();
        assert_eq!(desc, "北京市：1,234,567元；上海：800元；广州：0元");
        // CSP: no style attributes or elements anywhere.
        assert!(!svg.contains("style"));
        assert_eq!(count(&doc, "style"), 0);
    }

    #[test]
    fn chinese_labels_and_values_present_verbatim() {
        let svg = bars(&[("红十字会博爱基金", 12_345), ("应急救护培训", 7)]).to_svg();
        assert!(svg.contains("红十字会博爱基金"));
        assert!(svg.contains("应急救护培训"));
        let doc = parse(&svg);
        let t = texts(&doc);
        assert!(t.contains(&"红十字会博爱基金".to_owned()));
        assert!(t.contains(&"12,345元".to_owned()));
        assert!(t.contains(&"7元".to_owned()));
    }

    #[test]
    fn rect_count_matches_bar_count() {
        for n in [1usize, 2, 5, 17] {
            let items: Vec<(String, i64)> = (0..n).map(|i| (format!("项目{i}"), i as i64 * 10)).collect();
            let refs: Vec<(&str, i64)> = items.iter().map(|(l, v)| (l.as_str(), *v)).collect();
            let doc_src = bars(&refs).to_svg();
            let doc = parse(&doc_src);
            assert_eq!(count(&doc, "rect"), n);
        }
    }

    #[test]
    fn view_box_height_grows_with_bars() {
        let h1 = view_height(&bars(&[("甲", 1)]).to_svg());
        let h3 = view_height(&bars(&[("甲", 1), ("乙", 2), ("丙", 3)]).to_svg());
        let h10 = view_height(&bars(&[("甲", 1); 10]).to_svg());
        assert!(h1 < h3 && h3 < h10, "{h1} {h3} {h10}");
        assert_eq!(h3 - h1, 2.0 * BAR_ROW_H);
    }

    #[test]
    fn negative_values_clamp_width_but_show_number() {
        let svg = bars(&[("退款", -1_500), ("捐款", 3_000)]).to_svg();
        let doc = parse(&svg);
        let widths: Vec<f64> = doc
            .descendants()
            .filter(|n| n.has_tag_name("rect"))
            .map(|n| n.attribute("width").unwrap().parse().unwrap())
            .collect();
        assert_eq!(widths[0], 0.0);
        assert!(widths[1] > 100.0);
        assert!(texts(&doc).contains(&"-1,500元".to_owned()));
    }

    #[test]
    fn all_zero_or_negative_bars_do_not_divide_by_zero() {
        let svg = bars(&[("甲", 0), ("乙", -3)]).to_svg();
        assert!(!svg.contains("NaN") && !svg.contains("inf"));
        parse(&svg);
    }

    #[test]
    fn hostile_text_is_escaped() {
        let chart = BarChart {
            title: "<script>alert('x')</script>".to_owned(),
            unit: "\"&\"".to_owned(),
            bars: vec![
                Bar {
                    label: "<script>".to_owned(),
                    value: 1,
                },
                Bar {
                    label: "A&B".to_owned(),
                    value: 2,
                },
                Bar {
                    label: "控制\u{0}字符\u{1b}".to_owned(),
                    value: 3,
                },
            ],
        };
        let svg = chart.to_svg();
        assert!(!svg.contains("<script"));
        assert!(!svg.contains("A&B"));
        assert!(svg.contains("&lt;script&gt;"));
        assert!(svg.contains("A&amp;B"));
        assert!(svg.contains("&#39;x&#39;"));
        let doc = parse(&svg);
        assert_eq!(
            doc.root_element().attribute("aria-label"),
            Some("<script>alert('x')</script>")
        );
        let t = texts(&doc);
        assert!(t.contains(&"<script>".to_owned()));
        assert!(t.contains(&"A&B".to_owned()));
        assert!(t.contains(&"控制字符".to_owned()));
        assert!(t.contains(&"2 \"&\"".to_owned()));

        let line = LineChart {
            title: "a<b".to_owned(),
            unit: "'".to_owned(),
            points: vec![("<x>".to_owned(), 1), ("&".to_owned(), 2)],
        };
        let svg = line.to_svg();
        assert!(!svg.contains("<x>"));
        let doc = parse(&svg);
        assert!(texts(&doc).contains(&"<x>".to_owned()));
    }

    #[test]
    fn empty_charts_say_no_data() {
        for svg in [
            bars(&[]).to_svg(),
            LineChart {
                title: "月度志愿服务时长".to_owned(),
                unit: "小时".to_owned(),
                points: vec![],
            }
            .to_svg(),
            BarChart {
                title: String::new(),
                unit: String::new(),
                bars: vec![],
            }
            .to_svg(),
        ] {
            let doc = parse(&svg);
            assert!(texts(&doc).contains(&NO_DATA.to_owned()));
            assert_eq!(count(&doc, "rect"), 0);
            assert_eq!(doc.root_element().attribute("role"), Some("img"));
            assert!(doc.root_element().attribute("aria-label").is_some());
            assert!(view_height(&svg) <= 120.0);
        }
    }

    #[test]
    fn long_labels_are_cut_to_the_label_column() {
        let long = "中国红十字会总会赈济救护部应急救护培训中心第一分中心";
        let svg = bars(&[(long, 10), ("短", 5)]).to_svg();
        let doc = parse(&svg);
        let t = texts(&doc);
        let cut = t.iter().find(|s| s.ends_with('…')).unwrap();
        assert!(long.starts_with(cut.trim_end_matches('…')));
        assert!(text_width(cut, LABEL_SIZE) <= VIEW_W * LABEL_COL_MAX_SHARE + 0.01);
        // Full label still available to tooltips and screen readers.
        assert!(svg.contains(long));
    }

    #[test]
    fn width_estimate_counts_cjk_as_one_em() {
        assert_eq!(text_width("红十字", 10.0), 30.0);
        assert!((text_width("ab12", 10.0) - 24.0).abs() < 1e-9);
        assert!((text_width("A类", 10.0) - 16.0).abs() < 1e-9);
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(group_thousands(0), "0");
        assert_eq!(group_thousands(999), "999");
        assert_eq!(group_thousands(1_000), "1,000");
        assert_eq!(group_thousands(-1_234_567), "-1,234,567");
        assert_eq!(group_thousands(i128::from(i64::MIN)), "-9,223,372,036,854,775,808");
        assert_eq!(with_unit("5", "元"), "5元");
        assert_eq!(with_unit("5", "%"), "5%");
        assert_eq!(with_unit("5", "kg"), "5 kg");
        assert_eq!(with_unit("5", ""), "5");
    }

    fn is_nice(step: i128) -> bool {
        let mut s = step;
        while s >= 10 && s % 10 == 0 {
            s /= 10;
        }
        matches!(s, 1 | 2 | 5)
    }

    #[test]
    fn y_ticks_are_nice_numbers() {
        let cases: &[(i64, i64)] = &[
            (0, 0),
            (0, 1),
            (1, 1),
            (0, 7),
            (0, 10),
            (3, 97),
            (0, 100),
            (12, 1_234),
            (-50, 80),
            (-7, -2),
            (0, 123_456_789),
            (i64::MIN, i64::MAX),
        ];
        for &(lo, hi) in cases {
            let ticks = nice_ticks(lo, hi);
            assert!((4..=6).contains(&ticks.len()), "{lo}..{hi}: {ticks:?}");
            let step = ticks[1] - ticks[0];
            assert!(step > 0 && is_nice(step), "{lo}..{hi}: {ticks:?}");
            assert!(ticks.windows(2).all(|w| w[1] - w[0] == step));
            assert!(ticks.iter().all(|t| t % step == 0));
            assert!(ticks.contains(&0), "{lo}..{hi}: {ticks:?}");
            assert!(ticks[0] <= i128::from(lo.min(0)));
            assert!(*ticks.last().unwrap() >= i128::from(hi.max(0)));
        }
        assert_eq!(nice_ticks(0, 8), vec![0, 2, 4, 6, 8]);
        assert_eq!(nice_ticks(0, 1_234), vec![0, 500, 1_000, 1_500]);
        assert_eq!(nice_ticks(0, 100), vec![0, 20, 40, 60, 80, 100]);
    }

    #[test]
    fn line_chart_renders_points_and_axis() {
        let chart = LineChart {
            title: "月度捐款金额".to_owned(),
            unit: "元".to_owned(),
            points: (1..=12)
                .map(|m| (format!("2026-{m:02}"), i64::from(m) * 1_000))
                .collect(),
        };
        let svg = chart.to_svg();
        let doc = parse(&svg);
        let root = doc.root_element();
        assert_eq!(root.attribute("aria-label"), Some("月度捐款金额"));
        assert_eq!(count(&doc, "circle"), 12);
        assert_eq!(count(&doc, "polyline"), 1);
        let poly = doc.descendants().find(|n| n.has_tag_name("polyline")).unwrap();
        assert_eq!(poly.attribute("points").unwrap().split(' ').count(), 12);
        let t = texts(&doc);
        assert!(t.contains(&"2026-12".to_owned()), "latest month shown");
        assert!(t.contains(&"单位：元".to_owned()));
        assert!(t.contains(&"10,000".to_owned()), "{t:?}");
        let desc = root
            .children()
            .find(|n| n.has_tag_name("desc"))
            .unwrap()
            .text()
            .unwrap();
        assert!(desc.starts_with("2026-01：1,000元；2026-02：2,000元"));
        assert!(!svg.contains("NaN") && !svg.contains("style"));
    }

    #[test]
    fn line_chart_thins_crowded_x_labels() {
        let chart = LineChart {
            title: "每日".to_owned(),
            unit: String::new(),
            points: (0..60).map(|d| (format!("2026-03-{d:02}"), d)).collect(),
        };
        let doc_src = chart.to_svg();
        let doc = parse(&doc_src);
        let x_labels = texts(&doc).into_iter().filter(|t| t.starts_with("2026-")).count();
        assert!((2..15).contains(&x_labels), "{x_labels}");
        assert!(texts(&doc).contains(&"2026-03-59".to_owned()));
    }

    #[test]
    fn line_chart_single_and_flat_points() {
        for points in [
            vec![("2026-01".to_owned(), 5)],
            vec![("2026-01".to_owned(), 0), ("2026-02".to_owned(), 0)],
            vec![("a".to_owned(), i64::MIN), ("b".to_owned(), i64::MAX)],
        ] {
            let svg = LineChart {
                title: String::new(),
                unit: String::new(),
                points,
            }
            .to_svg();
            assert!(!svg.contains("NaN") && !svg.contains("inf"));
            let doc = parse(&svg);
            assert_eq!(doc.root_element().attribute("aria-label"), Some(FALLBACK_TITLE));
        }
    }
}
