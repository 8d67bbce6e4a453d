//! One way to do lists on pages: the query (search, page, per page, export
//! format), a pager that keeps the other query parameters, and row cells that
//! both the HTML table and the Excel export are made from.

use crate::components::export::Sheet;
use boai_store::Page;
use serde::Deserialize;

/// The list parameters every list page accepts.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ListQuery {
    pub q: Option<String>,
    #[serde(default, deserialize_with = "crate::query::opt_u64")]
    pub page: Option<u64>,
    #[serde(default, deserialize_with = "crate::query::opt_u64")]
    pub per_page: Option<u64>,
    /// `xlsx` to download the whole filtered list.
    pub format: Option<String>,
}

impl ListQuery {
    pub fn page(&self) -> Page {
        Page::new(self.page, self.per_page)
    }

    pub fn wants_xlsx(&self) -> bool {
        self.format.as_deref() == Some("xlsx")
    }

    pub fn q(&self) -> &str {
        self.q.as_deref().unwrap_or_default()
    }
}

/// A rendered list: header, rows and pager.
#[derive(Debug, Clone)]
pub struct ListView {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<CellView>>,
    pub pager: Pager,
    pub export_href: String,
}

/// One cell: its text and, optionally, a link.
#[derive(Debug, Clone)]
pub struct CellView {
    pub text: String,
    pub href: Option<String>,
}

impl CellView {
    pub fn text(text: impl Into<String>) -> Self {
        CellView {
            text: text.into(),
            href: None,
        }
    }

    /// Whether the cell is an amount of money (kept on one line).
    pub fn is_money(&self) -> bool {
        self.text.starts_with('¥') || self.text.starts_with("-¥") || self.text.starts_with("−¥")
    }

    pub fn link(text: impl Into<String>, href: impl Into<String>) -> Self {
        CellView {
            text: text.into(),
            href: Some(href.into()),
        }
    }
}

/// Page links that keep the other parameters of the query.
#[derive(Debug, Clone)]
pub struct Pager {
    pub page: u64,
    pub pages: u64,
    pub total: u64,
    pub prev_href: Option<String>,
    pub next_href: Option<String>,
}

impl Pager {
    /// `params` are the query's other parameters as (name, value).
    pub fn new(base: &str, params: &[(&str, String)], page: Page, total: u64) -> Pager {
        let pages = total.div_ceil(page.per_page).max(1);
        let href = |n: u64| {
            let mut parts: Vec<String> = params
                .iter()
                .filter(|(_, v)| !v.is_empty())
                .map(|(k, v)| format!("{k}={}", urlencode(v)))
                .collect();
            parts.push(format!("page={n}"));
            parts.push(format!("per_page={}", page.per_page));
            format!("{base}?{}", parts.join("&"))
        };
        Pager {
            page: page.page,
            pages,
            total,
            prev_href: (page.page > 1).then(|| href(page.page - 1)),
            next_href: (page.page < pages).then(|| href(page.page + 1)),
        }
    }
}

/// The export link for a list: same filters, `format=xlsx`.
pub fn export_href(base: &str, params: &[(&str, String)]) -> String {
    let mut parts: Vec<String> = params
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", urlencode(v)))
        .collect();
    parts.push("format=xlsx".to_owned());
    format!("{base}?{}", parts.join("&"))
}

/// Percent-encodes a query value.
pub fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// An Excel download of a sheet.
pub fn xlsx_download(stem: &str, sheet: &Sheet) -> Result<axum::response::Response, crate::ApiError> {
    use axum::response::IntoResponse;
    let bytes = crate::components::export::to_xlsx(sheet).map_err(|e| crate::ApiError::Internal(e.to_string()))?;
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                crate::components::export::XLSX_CONTENT_TYPE.to_owned(),
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                crate::components::export::content_disposition(stem),
            ),
        ],
        bytes,
    )
        .into_response())
}

/// Fetches every page of a list (for export), up to `cap` rows.
pub async fn fetch_all<T, F, Fut>(mut fetch: F, cap: u64) -> Result<Vec<T>, boai_store::StoreError>
where
    F: FnMut(Page) -> Fut,
    Fut: std::future::Future<Output = Result<(Vec<T>, u64), boai_store::StoreError>>,
{
    let mut out = Vec::new();
    let mut page = Page::new(Some(1), Some(Page::MAX_PER_PAGE));
    loop {
        let (items, total) = fetch(page).await?;
        let done = items.is_empty() || page.page * page.per_page >= total.min(cap);
        out.extend(items);
        if done {
            return Ok(out);
        }
        page.page += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pager_keeps_filters_and_bounds() {
        let page = Page::new(Some(2), Some(10));
        let pager = Pager::new(
            "/orgs/list",
            &[("q", "历下".to_owned()), ("level", String::new())],
            page,
            25,
        );
        assert_eq!(pager.pages, 3);
        assert_eq!(
            pager.prev_href.as_deref(),
            Some("/orgs/list?q=%E5%8E%86%E4%B8%8B&page=1&per_page=10")
        );
        assert!(pager.next_href.as_deref().is_some_and(|h| h.contains("page=3")));
        let last = Pager::new("/x", &[], Page::new(Some(3), Some(10)), 25);
        assert_eq!(last.next_href, None);
    }

    #[test]
    fn per_page_is_clamped() {
        assert_eq!(Page::new(Some(0), Some(1000)), Page { page: 1, per_page: 100 });
    }
}
