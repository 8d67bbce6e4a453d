//! Query strings as browsers send them, read by one rule for pages and the
//! API (see [`read_as_sent`] for the one difference): a field left empty (`project_id=`, a cleared date, 全部 in a select)
//! means "not given", and numbers arrive as text — also inside a flattened
//! struct, where serde would otherwise refuse `"2"` for a `u64` (the pager bug
//! of issue 22). A query that still cannot be read is the page's own 400 (in
//! Chinese, or English when switched), never axum's English text.

use crate::{ApiError, PageError};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};

/// The query string without its empty fields (`a=&b=1` → `b=1`).
pub fn without_empty(query: &str) -> String {
    query
        .split('&')
        .filter(|pair| {
            let value = pair.split_once('=').map(|(_, v)| v).unwrap_or_default();
            !pair.is_empty() && !value.trim_matches('+').is_empty()
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// Reads a page's query by the rule above; `Err` holds serde's reason
/// (for the log, not for people).
pub fn read<T: DeserializeOwned>(parts: &Parts) -> Result<T, String> {
    let query = without_empty(parts.uri.query().unwrap_or_default());
    serde_urlencoded::from_str(&query).map_err(|e| e.to_string())
}

/// Reads an API query as sent: the API documents that an empty value is
/// malformed (400), since a program, unlike a form, can leave it out.
pub fn read_as_sent<T: DeserializeOwned>(parts: &Parts) -> Result<T, String> {
    serde_urlencoded::from_str(parts.uri.query().unwrap_or_default()).map_err(|e| e.to_string())
}

/// A page's query-string parameters; unreadable → the 400 page.
pub struct PageQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for PageQuery<T> {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        read(parts).map(PageQuery).map_err(|why| {
            tracing::debug!(path = %parts.uri.path(), %why, "unreadable page query");
            PageError::Api(ApiError::BadRequest(
                "链接中的参数有误, 请返回上一页重新筛选".to_owned(),
            ))
        })
    }
}

/// `deserialize_with` for an optional whole number that may arrive as text
/// (`"2"`) or as a number, e.g. a pager's `page` inside a flattened struct.
pub fn opt_u64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum NumOrText {
        Num(u64),
        Text(String),
    }
    match Option::<NumOrText>::deserialize(deserializer)? {
        None => Ok(None),
        Some(NumOrText::Num(n)) => Ok(Some(n)),
        Some(NumOrText::Text(text)) if text.trim().is_empty() => Ok(None),
        Some(NumOrText::Text(text)) => text
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| serde::de::Error::custom(format!("not a whole number: {text:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Inner {
        #[serde(default, deserialize_with = "opt_u64")]
        page: Option<u64>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Outer {
        #[serde(flatten)]
        inner: Inner,
        project_id: Option<uuid::Uuid>,
        from: Option<chrono::NaiveDate>,
    }

    fn parse(q: &str) -> Result<Outer, String> {
        serde_urlencoded::from_str(&without_empty(q)).map_err(|e| e.to_string())
    }

    #[test]
    fn empty_fields_are_absent_and_flattened_numbers_read() {
        let got = parse("project_id=&from=&page=2").unwrap();
        assert_eq!(got.inner.page, Some(2));
        assert_eq!(got.project_id, None);
        assert_eq!(got.from, None);
        assert_eq!(parse("page=").unwrap().inner.page, None);
        assert!(parse("page=two").is_err());
        assert!(parse("project_id=nope").is_err());
    }

    #[test]
    fn without_empty_keeps_the_rest_in_order() {
        assert_eq!(without_empty("a=&b=1&&c=+&d=x"), "b=1&d=x");
        assert_eq!(without_empty(""), "");
    }
}
