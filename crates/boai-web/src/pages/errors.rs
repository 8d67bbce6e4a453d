//! Every error a person can meet is this app's own page: in their language,
//! inside the layout, with the signed-in header and navigation. Handlers'
//! [`crate::PageError`]s mark their answer with [`ErrorShown`]; axum's own
//! refusals (an unreadable path or form, an unknown method) arrive as plain
//! text. [`html_errors`] turns both into the error page for a browser (a
//! request that accepts `text/html`), leaving the JSON API, the ledger's
//! plain-text tiles for machines and pages' own 422 forms untouched.

use super::{lang_of, Layout};
use crate::i18n::{t, Lang};
use crate::AppState;
use askama::Template;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};

/// What a page error says, carried on its response for [`html_errors`].
#[derive(Debug, Clone)]
pub struct ErrorShown {
    /// A specific reason in Chinese (e.g. the role lacks a permission), shown
    /// on Chinese pages under the title.
    pub detail: Option<String>,
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    layout: Layout,
    status: u16,
    title: String,
    detail: String,
    hint: String,
    back: String,
}

/// The error page's HTML for `status`.
pub fn error_page(
    lang: Lang,
    status: StatusCode,
    detail: Option<&str>,
    path: &str,
    back: Option<&str>,
    identity: Option<&crate::auth::Identity>,
) -> Html<String> {
    let code = status.as_u16();
    let title_key = format!("error.{code}");
    let title = match t(lang, &title_key) {
        found if found != title_key => found.to_owned(),
        _ => t(lang, "error.other").to_owned(),
    };
    let hint_key = match code {
        400 | 405 | 413 | 422 => "error.hint.400",
        403 => "error.hint.403",
        404 => "error.hint.404",
        500..=599 => "error.hint.500",
        _ => "",
    };
    let page = ErrorPage {
        layout: Layout::new(lang, title.clone(), path, identity),
        status: code,
        title: title.clone(),
        // The specific reasons are written in Chinese; an English page keeps
        // to its title and hint.
        detail: match lang {
            Lang::Zh => detail.filter(|d| *d != title).unwrap_or_default().to_owned(),
            Lang::En => String::new(),
        },
        hint: if hint_key.is_empty() {
            String::new()
        } else {
            t(lang, hint_key).to_owned()
        },
        back: back.and_then(|b| super::same_site_path(Some(b))).unwrap_or_default(),
    };
    Html(page.render().unwrap_or(title))
}

fn accepts_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"))
}

fn content_type(response: &Response) -> &str {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

/// The referring page on this site, as a path, for a "go back" link.
fn referer_path(headers: &HeaderMap) -> Option<String> {
    let referer = headers.get(header::REFERER)?.to_str().ok()?;
    let host = headers.get(header::HOST)?.to_str().ok()?;
    let rest = referer.split_once("://")?.1.strip_prefix(host)?;
    rest.starts_with('/').then(|| rest.to_owned())
}

/// Middleware: error answers to a browser become the error page.
pub async fn html_errors(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if request.uri().path().starts_with("/api/") {
        return next.run(request).await;
    }
    let wants_html = accepts_html(request.headers());
    let method = request.method().clone();
    let uri = request.uri().clone();
    let headers = request.headers().clone();
    let client = request.extensions().get::<crate::client_addr::ClientIp>().cloned();
    let peer = request
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .cloned();
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let shown = response.extensions().get::<ErrorShown>().cloned();
    let ct = content_type(&response);
    let ours_already = ct.starts_with("text/html") || ct.contains("json");
    let shown = match shown {
        Some(shown) => shown,
        None if wants_html && !ours_already => ErrorShown { detail: None },
        None => return response,
    };
    // Who is asking, for the header and navigation: read again (only on
    // this rare path) from the request's own cookie.
    let mut probe = Request::new(axum::body::Body::empty());
    *probe.method_mut() = method;
    *probe.uri_mut() = uri.clone();
    *probe.headers_mut() = headers.clone();
    if let Some(client) = client {
        probe.extensions_mut().insert(client);
    }
    if let Some(peer) = peer {
        probe.extensions_mut().insert(peer);
    }
    let (mut parts, _) = probe.into_parts();
    let identity = crate::auth::resolve(&mut parts, &state).await.ok().flatten();
    let lang = lang_of(&headers);
    let html = error_page(
        lang,
        status,
        shown.detail.as_deref(),
        uri.path(),
        referer_path(&headers).as_deref(),
        identity.as_ref(),
    );
    let mut out = (status, html).into_response();
    for name in [header::RETRY_AFTER, header::ALLOW, header::SET_COOKIE] {
        for value in response.headers().get_all(&name) {
            out.headers_mut().append(name.clone(), value.clone());
        }
    }
    out
}
