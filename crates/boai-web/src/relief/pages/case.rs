//! A case's page and its actions: review, resubmission, payment, a
//! document's download.

use super::*;

/// A review as shown.
pub struct ReviewRow {
    pub level: String,
    pub decision: String,
    pub reason: String,
    pub reviewer: String,
    pub at: String,
}

#[derive(Template)]
#[template(path = "relief/case.html")]
struct CasePage {
    layout: Layout,
    d: CaseDetail,
    amount: String,
    income: String,
    created: String,
    due: String,
    step_label: String,
    reviews: Vec<ReviewRow>,
    entry_amount: String,
    can_review: bool,
    can_pay: bool,
    can_resubmit: bool,
    pending: bool,
    error: String,
}

async fn case_page<N: crate::auth::Need>(
    headers: &HeaderMap,
    user: &PageUser<N>,
    id: CaseId,
    error: String,
    status: StatusCode,
) -> Result<Response, PageError> {
    let d = user.store.relief_case(id).await?;
    let role = user.identity.actor.role;
    let step_label = d
        .programme
        .settings
        .flow
        .steps
        .get(usize::try_from(d.case.step).unwrap_or(0))
        .map(|s| level_label(s.level).to_owned())
        .unwrap_or_default();
    let reviews = d
        .reviews
        .iter()
        .map(|r| ReviewRow {
            level: boai_domain::orgs::OrgLevel::parse(&r.level)
                .map(level_label)
                .unwrap_or_default()
                .to_owned(),
            decision: Decision::parse(&r.decision)
                .map(Decision::label_zh)
                .unwrap_or_default()
                .to_owned(),
            reason: r.reason.clone().unwrap_or_default(),
            reviewer: r.reviewer_name.clone(),
            at: china_time(r.at),
        })
        .collect();
    let mut response = render(&CasePage {
        layout: Layout::new(
            lang_of(headers),
            d.case.case_no.clone(),
            "/relief/cases",
            Some(&user.identity),
        ),
        amount: d.case.amount.display_yuan(),
        income: d.case.household_income.display_yuan(),
        created: china_time(d.case.created_at),
        due: d.due.map(china_time).unwrap_or_default(),
        step_label,
        reviews,
        entry_amount: d.entry.as_ref().map(|e| e.amount.display_yuan()).unwrap_or_default(),
        can_review: role.can(Permission::HandleRelief) && d.case.status == CaseStatus::Pending,
        can_pay: role.can(Permission::ManageFunds) && d.case.status == CaseStatus::Approved,
        can_resubmit: role.can(Permission::HandleRelief) && d.case.status == CaseStatus::Returned,
        pending: d.case.status == CaseStatus::Pending,
        error,
        d,
    });
    *response.status_mut() = status;
    Ok(response)
}

pub async fn case(
    headers: HeaderMap,
    user: PageUser<ViewRelief>,
    Path(id): Path<uuid::Uuid>,
) -> Result<Response, PageError> {
    case_page(&headers, &user, CaseId(id), String::new(), StatusCode::OK).await
}

#[derive(Debug, Deserialize)]
pub struct ReviewForm {
    decision: String,
    reason: Option<String>,
}

fn error_text(e: &StoreError) -> Option<String> {
    match e {
        StoreError::Invalid(errors) => Some(
            errors
                .0
                .iter()
                .map(|e| e.message.clone())
                .collect::<Vec<_>>()
                .join("; "),
        ),
        StoreError::Conflict(why) => Some(why.clone()),
        StoreError::Forbidden => Some("您的角色无权执行此操作".to_owned()),
        _ => None,
    }
}

pub async fn review(
    headers: HeaderMap,
    user: PageUser<HandleRelief>,
    Path(id): Path<uuid::Uuid>,
    CsrfForm(form): CsrfForm<ReviewForm>,
) -> Result<Response, PageError> {
    let Some(decision) = Decision::parse(&form.decision) else {
        return case_page(
            &headers,
            &user,
            CaseId(id),
            "请选择审核意见".into(),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    match user
        .store
        .relief_review(
            CaseId(id),
            ReviewInput {
                decision,
                reason: form.reason,
            },
        )
        .await
    {
        Ok(_) => Ok(Redirect::to(&format!("/relief/cases/{id}")).into_response()),
        Err(e) => match error_text(&e) {
            Some(text) => case_page(&headers, &user, CaseId(id), text, StatusCode::UNPROCESSABLE_ENTITY).await,
            None => Err(e.into()),
        },
    }
}

#[derive(Debug, Deserialize)]
pub struct Empty {}

pub async fn resubmit(
    headers: HeaderMap,
    user: PageUser<HandleRelief>,
    Path(id): Path<uuid::Uuid>,
    CsrfForm(_): CsrfForm<Empty>,
) -> Result<Response, PageError> {
    match user.store.relief_resubmit(CaseId(id)).await {
        Ok(_) => Ok(Redirect::to(&format!("/relief/cases/{id}")).into_response()),
        Err(e) => match error_text(&e) {
            Some(text) => case_page(&headers, &user, CaseId(id), text, StatusCode::UNPROCESSABLE_ENTITY).await,
            None => Err(e.into()),
        },
    }
}

#[derive(Debug, Deserialize)]
pub struct PayForm {
    /// `1` once the person has seen and confirmed the payment.
    confirmed: Option<String>,
}

pub async fn pay(
    headers: HeaderMap,
    user: PageUser<ManageFunds>,
    Path(id): Path<uuid::Uuid>,
    CsrfForm(form): CsrfForm<PayForm>,
) -> Result<Response, PageError> {
    if !crate::components::confirm::Confirm::given(form.confirmed.as_deref()) {
        let d = user.store.relief_case(CaseId(id)).await?;
        let c = &d.case;
        return Ok(crate::components::confirm::Confirm {
            heading: format!("确认拨付: 救助案件 {}", c.case_no),
            warning: "拨付将从该救助项目的限定性资金支出, 记账并写入公开账本; 经办人和时间记入审计日志, 不能撤回。"
                .to_owned(),
            facts: vec![
                ("申请人".to_owned(), c.applicant_name.clone()),
                ("区县".to_owned(), c.district.clone()),
                (
                    "开户银行".to_owned(),
                    c.bank_name.clone().unwrap_or_else(|| "—".to_owned()),
                ),
                (
                    "银行账号".to_owned(),
                    c.bank_account_masked.clone().unwrap_or_else(|| "—".to_owned()),
                ),
                ("拨付金额".to_owned(), c.amount.display_yuan()),
                ("经办人".to_owned(), user.identity.display_name().to_owned()),
            ],
            action: format!("/relief/cases/{id}/pay"),
            fields: Vec::new(),
            confirm_label: format!("确认拨付 {}", c.amount.display_yuan()),
            cancel: format!("/relief/cases/{id}"),
        }
        .render(crate::pages::Layout::new(
            crate::pages::lang_of(&headers),
            "确认拨付",
            "/relief/cases",
            Some(&user.identity),
        )));
    }
    match user.store.relief_pay(&[CaseId(id)]).await {
        Ok(_) => Ok(Redirect::to(&format!("/relief/cases/{id}")).into_response()),
        Err(e) => match error_text(&e) {
            Some(text) => case_page(&headers, &user, CaseId(id), text, StatusCode::UNPROCESSABLE_ENTITY).await,
            None => Err(e.into()),
        },
    }
}

/// An attachment of a case in scope.
pub async fn attachment(
    State(state): State<AppState>,
    user: PageUser<ViewRelief>,
    Path((id, file)): Path<(uuid::Uuid, uuid::Uuid)>,
) -> Result<Response, PageError> {
    let (meta, bytes) = user
        .store
        .relief_attachment(CaseId(id), file, state.relief_files.as_ref())
        .await?;
    let mut response = crate::transparency::file_response(boai_store::transparency::DisclosureFile {
        name: meta.file_name,
        mime: meta.mime,
        bytes,
    })?;
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    Ok(response)
}
