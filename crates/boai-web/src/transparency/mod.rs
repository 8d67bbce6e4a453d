//! Disclosures (信息公开) with deadlines: the public pages
//! (`/transparency/disclosures`: list with filters, one disclosure, its
//! attachment), the staff pages (publish with a file upload, the deadlines
//! of every project in scope with the overdue ones in red, Excel export) and
//! the JSON API (`/api/v1/transparency/…`). Attachments are served with the
//! type decided when they were accepted, `nosniff`, and a download name.

pub mod api;
pub mod pages;
pub mod portal;

use crate::components::list::urlencode;
use crate::ApiError;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use boai_domain::transparency::FileKind;
use boai_store::transparency::DisclosureFile;

/// The body limit of the two routes that take an attachment: a 10 MB file
/// base64-encoded in JSON, with room for the rest.
pub const UPLOAD_BODY_LIMIT: usize = 16 * 1024 * 1024;

/// The public address of a disclosure's attachment.
pub fn file_url(id: impl std::fmt::Display) -> String {
    format!("/transparency/disclosures/{id}/file")
}

/// `Content-Disposition` for a stored file: an ASCII fallback name plus the
/// real name as RFC 5987 `filename*`; PDFs and images open in the browser.
fn disposition(name: &str, inline: bool) -> String {
    let fallback: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!(
        "{}; filename=\"{fallback}\"; filename*=UTF-8''{}",
        if inline { "inline" } else { "attachment" },
        urlencode(name)
    )
}

/// The response that serves a stored attachment.
pub fn file_response(file: DisclosureFile) -> Result<Response, ApiError> {
    let kind = FileKind::from_mime(&file.mime);
    let mime = kind.map_or("application/octet-stream", FileKind::mime);
    let inline = kind.is_some_and(FileKind::inline);
    let disposition = HeaderValue::from_str(&disposition(&file.name, inline))
        .map_err(|e| ApiError::Internal(format!("content-disposition: {e}")))?;
    let mut response = file.bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    headers.insert(header::CONTENT_DISPOSITION, disposition);
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::disposition;

    #[test]
    fn download_names_are_safe_headers() {
        assert_eq!(
            disposition("财务 报告.pdf", true),
            "inline; filename=\"_____.pdf\"; filename*=UTF-8''%E8%B4%A2%E5%8A%A1%20%E6%8A%A5%E5%91%8A.pdf"
        );
        assert!(disposition("a.docx", false).starts_with("attachment; filename=\"a.docx\""));
    }
}
