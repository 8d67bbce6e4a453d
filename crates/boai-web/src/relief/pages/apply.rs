//! The application form: public (phone first, documents, the separate
//! consent to health information) and filed by staff on a person's behalf,
//! and the page that answers a filing.

use super::*;
use crate::query::PageQuery;

/// A programme as the form shows it.
pub struct ProgrammeChoice {
    pub id: String,
    pub name: String,
    pub documents: Vec<String>,
    pub payee_person: bool,
    pub standard: String,
    pub max: String,
    pub rule_text: String,
}

fn choice(p: &Programme) -> ProgrammeChoice {
    ProgrammeChoice {
        id: p.id.to_string(),
        name: p.name.clone(),
        documents: p.settings.documents.clone(),
        payee_person: p.settings.payee == boai_domain::relief::Payee::Person,
        standard: p.settings.standard_grant.display_yuan(),
        max: p.settings.max_grant.display_yuan(),
        rule_text: p.settings.rule.describe(),
    }
}

#[derive(Template)]
#[template(path = "relief/apply.html")]
struct ApplyPage {
    layout: Layout,
    action: String,
    csrf: String,
    programmes: Vec<ProgrammeChoice>,
    chosen: Option<ProgrammeChoice>,
    districts: Vec<String>,
    hardship: Vec<&'static str>,
    units: Vec<(String, String)>,
    staff: bool,
    form: ApplyForm,
    errors: FieldErrors,
    error_list: Vec<String>,
    /// The separate consent to health information: its text and version.
    consent_text: &'static str,
    consent_version: &'static str,
}

#[derive(Debug, Deserialize)]
pub struct ApplyQuery {
    programme: Option<String>,
}

fn set_cookie(state: &AppState, response: &mut Response, value: &str) {
    let secure = if state.config.secure_cookies { "; Secure" } else { "" };
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{APPLY_CSRF_COOKIE}={value}; Path=/relief; HttpOnly; SameSite=Strict; Max-Age=7200{secure}"
    )) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
}

#[allow(clippy::too_many_arguments)]
async fn apply_page(
    state: &AppState,
    lang: crate::i18n::Lang,
    caller: Option<&crate::auth::Identity>,
    staff: Option<&boai_store::ScopedStore>,
    csrf: String,
    form: ApplyForm,
    errors: FieldErrors,
    status: StatusCode,
) -> Result<Response, PageError> {
    let programmes = match staff {
        Some(s) => s.relief_programmes().await?,
        None => state.store.relief_programmes_public().await?,
    };
    let chosen = programmes
        .iter()
        .find(|p| p.id.to_string() == form.programme_id)
        .map(choice);
    let units = match staff {
        Some(s) if s.actor().scope.is_district_or_above() => {
            let all = s.orgs_tree().await?;
            all.into_iter()
                .filter(|o| o.level == boai_domain::orgs::OrgLevel::Unit)
                .take(400)
                .map(|o| (o.id.to_string(), o.name))
                .collect()
        }
        _ => Vec::new(),
    };
    let error_list = errors.0.iter().map(|e| e.message.clone()).collect();
    let action = if staff.is_some() {
        "/relief/new"
    } else {
        "/relief/apply"
    };
    let mut response = render(&ApplyPage {
        layout: Layout::new(lang, "人道救助申请", action, caller),
        action: action.to_owned(),
        csrf: csrf.clone(),
        programmes: programmes.iter().map(choice).collect(),
        chosen,
        districts: state.store.relief_districts().await?,
        hardship: HARDSHIP.to_vec(),
        units,
        staff: staff.is_some(),
        form,
        errors,
        error_list,
        consent_text: boai_domain::privacy::HEALTH_CONSENT_TEXT,
        consent_version: boai_domain::privacy::HEALTH_CONSENT_VERSION,
    });
    *response.status_mut() = status;
    if staff.is_none() {
        set_cookie(state, &mut response, &csrf);
    }
    Ok(response)
}

/// `/relief/apply`: the public application form (pick a programme first).
pub async fn apply_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    MaybeCaller(caller): MaybeCaller,
    PageQuery(q): PageQuery<ApplyQuery>,
) -> Result<Response, PageError> {
    let form = ApplyForm {
        programme_id: q.programme.unwrap_or_default(),
        household_size: "1".to_owned(),
        ..ApplyForm::default()
    };
    apply_page(
        &state,
        lang_of(&headers),
        caller.as_ref(),
        None,
        new_secret(),
        form,
        FieldErrors::new(),
        StatusCode::OK,
    )
    .await
}

#[derive(Template)]
#[template(path = "relief/applied.html")]
struct AppliedPage {
    layout: Layout,
    case_no: String,
    lookup_code: String,
    programme: String,
    amount: String,
}

/// Files the public form (rate-limited before the body is read, CSRF-checked).
pub async fn apply_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawParts(parts): RawParts,
    MaybeCaller(caller): MaybeCaller,
    upload: PublicMultipart,
) -> Result<Response, PageError> {
    let lang = lang_of(&headers);
    let form = ApplyForm::from_fields(&upload.fields);
    let csrf = upload.fields.get("csrf").cloned().unwrap_or_default();
    let programmes = state.store.relief_programmes_public().await?;
    let Some(programme) = programmes.iter().find(|p| p.id.to_string() == form.programme_id) else {
        let mut e = FieldErrors::new();
        e.add("programme_id", "请选择救助项目");
        return apply_page(
            &state,
            lang,
            caller.as_ref(),
            None,
            csrf,
            form,
            e,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let input = form.input(&programme.settings, &upload.files);
    match state
        .store
        .relief_apply_online(
            programme.id,
            &input,
            state.relief_files.as_ref(),
            crate::auth::client_ip(&parts),
        )
        .await
    {
        Ok(filed) => Ok(render(&AppliedPage {
            layout: Layout::new(lang, "申请已受理", "/relief/apply", caller.as_ref()),
            case_no: filed.case.case_no.clone(),
            lookup_code: filed.lookup_code.clone(),
            programme: programme.name.clone(),
            amount: filed.case.amount.display_yuan(),
        })),
        Err(StoreError::Invalid(e)) => {
            apply_page(
                &state,
                lang,
                caller.as_ref(),
                None,
                csrf,
                form,
                e,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

/// `/relief/new`: staff file on behalf of a person.
pub async fn new_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    user: PageUser<HandleRelief>,
    PageQuery(q): PageQuery<ApplyQuery>,
) -> Result<Response, PageError> {
    let form = ApplyForm {
        programme_id: q.programme.unwrap_or_default(),
        household_size: "1".to_owned(),
        ..ApplyForm::default()
    };
    apply_page(
        &state,
        lang_of(&headers),
        Some(&user.identity),
        Some(&user.store),
        user.identity.csrf_token().to_owned(),
        form,
        FieldErrors::new(),
        StatusCode::OK,
    )
    .await
}

pub async fn new_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    user: PageUser<HandleRelief>,
    upload: CsrfMultipart,
) -> Result<Response, PageError> {
    let lang = lang_of(&headers);
    let form = ApplyForm::from_fields(&upload.fields);
    let csrf = user.identity.csrf_token().to_owned();
    let programmes = user.store.relief_programmes().await?;
    let Some(programme) = programmes.iter().find(|p| p.id.to_string() == form.programme_id) else {
        let mut e = FieldErrors::new();
        e.add("programme_id", "请选择救助项目");
        return apply_page(
            &state,
            lang,
            Some(&user.identity),
            Some(&user.store),
            csrf,
            form,
            e,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let input = form.input(&programme.settings, &upload.files);
    let unit = form.unit_id.parse().ok().map(OrgId);
    match user
        .store
        .relief_apply(programme.id, unit, &input, state.relief_files.as_ref())
        .await
    {
        Ok(filed) => Ok(Redirect::to(&format!("/relief/cases/{}", filed.case.id)).into_response()),
        Err(StoreError::Invalid(e)) => {
            apply_page(
                &state,
                lang,
                Some(&user.identity),
                Some(&user.store),
                csrf,
                form,
                e,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}
