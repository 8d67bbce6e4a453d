//! Public look-ups: an applicant's status by case number and code, and a
//! paid case's public page (from its ledger entry).

use super::*;

#[derive(Template)]
#[template(path = "relief/status.html")]
struct StatusPage {
    layout: Layout,
    case_no: String,
    found: Option<CaseStatusView>,
    error: String,
}

impl StatusPage {
    fn amount(&self) -> String {
        self.found.as_ref().map(|f| f.amount.display_yuan()).unwrap_or_default()
    }
}

pub async fn status_form(headers: HeaderMap, MaybeCaller(caller): MaybeCaller) -> Response {
    render(&StatusPage {
        layout: Layout::new(lang_of(&headers), "救助申请进度查询", "/relief/status", caller.as_ref()),
        case_no: String::new(),
        found: None,
        error: String::new(),
    })
}

#[derive(Debug, Deserialize)]
pub struct StatusForm {
    case_no: String,
    lookup_code: String,
}

pub async fn status_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawParts(parts): RawParts,
    MaybeCaller(caller): MaybeCaller,
    axum::Form(form): axum::Form<StatusForm>,
) -> Result<Response, PageError> {
    state
        .lookup_limiter
        .check(crate::auth::client_ip(&parts).as_deref())
        .map_err(|secs| ApiError::TooManyRequests { retry_after_secs: secs })?;
    let found = state.store.relief_status(&form.case_no, &form.lookup_code).await?;
    let error = if found.is_none() {
        "未找到: 案件号或查询码不正确".to_owned()
    } else {
        String::new()
    };
    let mut response = render(&StatusPage {
        layout: Layout::new(lang_of(&headers), "救助申请进度查询", "/relief/status", caller.as_ref()),
        case_no: form.case_no,
        found,
        error,
    });
    if response.status() == StatusCode::OK && !response.headers().contains_key(header::CACHE_CONTROL) {
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    Ok(response)
}

#[derive(Template)]
#[template(path = "relief/aided.html")]
struct AidedPage {
    layout: Layout,
    case: PublicCase,
    amount: String,
}

/// `/relief/aided/{ledger_index}`: a paid case, without personal data.
pub async fn aided(
    State(state): State<AppState>,
    headers: HeaderMap,
    MaybeCaller(caller): MaybeCaller,
    Path(index): Path<i64>,
) -> Result<Response, PageError> {
    let case = state.store.relief_public_case(index).await?;
    Ok(render(&AidedPage {
        layout: Layout::new(lang_of(&headers), "受助个案", "/relief/aided", caller.as_ref()),
        amount: case.amount.display_yuan(),
        case,
    }))
}
