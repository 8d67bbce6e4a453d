//! The staff page `/privacy`: the search form (ID number or phone, who
//! asked), the .xlsx export (POST, so the number never appears in an
//! address), anonymisation (with a confirmation box), and the requests.

use super::api::parse_subject;
use crate::auth::csrf::CsrfForm;
use crate::auth::{ManagePrivacy, PageUser};
use crate::components::export::{Cell, Sheet};
use crate::components::list::xlsx_download;
use crate::pages::{lang_of, render, Layout};
use crate::{AppState, PageError};
use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use boai_domain::privacy::RequestKind;
use boai_domain::validation::FieldErrors;
use boai_store::privacy::PersonExport;
use boai_store::{Page, StoreError};
use serde::Deserialize;

/// One recorded request, as the page lists it.
pub struct RequestRow {
    pub at: String,
    pub kind: String,
    pub subject: String,
    pub requested_by: String,
    pub outcome: String,
    pub handled_by: String,
}

#[derive(Template)]
#[template(path = "privacy.html")]
struct PrivacyPage {
    layout: Layout,
    notice: Option<String>,
    refusal: Option<String>,
    requested_by: String,
    errors: FieldErrors,
    requests: Vec<RequestRow>,
}

/// The form (the numbers are never sent back to the browser).
#[derive(Debug, Default, Deserialize)]
pub struct SubjectForm {
    #[serde(default)]
    id_card_no: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    requested_by: String,
    #[serde(default)]
    confirm: String,
}

async fn page(
    headers: &HeaderMap,
    user: &PageUser<ManagePrivacy>,
    status: StatusCode,
    notice: Option<String>,
    refusal: Option<String>,
    requested_by: String,
    errors: FieldErrors,
) -> Result<Response, PageError> {
    let (items, _) = user.store.privacy_requests(Page::new(Some(1), Some(50))).await?;
    let requests = items
        .into_iter()
        .map(|r| RequestRow {
            // China time (UTC+8).
            at: (r.created_at + chrono::Duration::hours(8))
                .format("%Y-%m-%d %H:%M")
                .to_string(),
            kind: RequestKind::parse(&r.kind)
                .map(|k| k.label_zh().to_owned())
                .unwrap_or(r.kind),
            subject: r.subject_masked,
            requested_by: r.requested_by,
            outcome: if r.outcome == "done" {
                "已办理".to_owned()
            } else {
                let reasons = r.detail["reasons"]
                    .as_array()
                    .map(|a| a.iter().filter_map(|v| v.as_str()).collect::<Vec<_>>().join("; "))
                    .unwrap_or_default();
                format!("拒绝: {reasons}")
            },
            handled_by: r.handled_by,
        })
        .collect();
    let mut response = render(&PrivacyPage {
        layout: Layout::new(lang_of(headers), "个人信息保护", "/privacy", Some(&user.identity)),
        notice,
        refusal,
        requested_by,
        errors,
        requests,
    });
    *response.status_mut() = status;
    Ok(response)
}

pub async fn index(headers: HeaderMap, user: PageUser<ManagePrivacy>) -> Result<Response, PageError> {
    page(
        &headers,
        &user,
        StatusCode::OK,
        None,
        None,
        String::new(),
        FieldErrors::new(),
    )
    .await
}

fn opt(s: &str) -> Option<&str> {
    Some(s).filter(|s| !s.trim().is_empty())
}

/// The export as one sheet: category, record, field, value.
fn sheet(export: &PersonExport) -> Sheet {
    let mut rows: Vec<Vec<Cell>> = Vec::new();
    let mut row = |cat: &str, rec: &str, field: &str, value: Cell| {
        rows.push(vec![
            Cell::Text(cat.to_owned()),
            Cell::Text(rec.to_owned()),
            Cell::Text(field.to_owned()),
            value,
        ]);
    };
    let text = |s: &Option<String>| s.clone().map_or(Cell::Empty, Cell::Text);
    row("查询", "", "对象", Cell::Text(export.subject_masked.clone()));
    row("查询", "", "生成时间", Cell::DateTime(export.generated_at));
    row("查询", "", "办理人", Cell::Text(export.generated_by.clone()));
    for d in &export.donors {
        let rec = d.id.to_string();
        row("捐赠人", &rec, "姓名或名称", Cell::Text(d.name.clone()));
        row("捐赠人", &rec, "手机号码", text(&d.phone));
        row("捐赠人", &rec, "身份证号码", text(&d.id_card_no));
        row(
            "捐赠人",
            &rec,
            "同意公开姓名",
            Cell::Text(if d.public_name_consent { "是" } else { "否" }.to_owned()),
        );
        row("捐赠人", &rec, "登记单位", Cell::Text(d.org_name.clone()));
        for g in &d.gifts {
            row(
                "捐赠",
                &g.certificate_no,
                &format!("{} · {}", g.project_name, g.received_on),
                Cell::Fen(g.amount_fen),
            );
        }
        for v in &d.visits {
            row("走访", &rec, &format!("{} {}", v.visited_on, v.visitor), text(&v.notes));
        }
    }
    for m in &export.members {
        let rec = m.member_no.clone();
        row("会员", &rec, "姓名", Cell::Text(m.name.clone()));
        row("会员", &rec, "身份证号码", text(&m.id_card_no));
        row("会员", &rec, "联系电话", text(&m.phone));
        row("会员", &rec, "所属基层组织", Cell::Text(m.unit_name.clone()));
        row("会员", &rec, "入会日期", Cell::Date(m.joined_on));
        row("会员", &rec, "状态", Cell::Text(m.status.clone()));
        for p in &m.dues {
            row(
                "会费",
                &rec,
                &format!("{} 年 · 收据 {}", p.year, p.receipt_no),
                Cell::Fen(p.amount_fen),
            );
        }
        for s in &m.council_seats {
            row(
                "理事会任职",
                &rec,
                &format!("{} {} 第{}届", s.org_name, s.body, s.term_no),
                Cell::Text(format!("{} ({} 至 {})", s.role, s.term_start, s.term_end)),
            );
        }
    }
    for c in &export.relief_cases {
        let rec = c.case_no.clone();
        row("救助申请", &rec, "项目", Cell::Text(c.programme.clone()));
        row("救助申请", &rec, "状态", Cell::Text(c.status.clone()));
        row("救助申请", &rec, "申请人", Cell::Text(c.applicant_name.clone()));
        row("救助申请", &rec, "身份证号码", text(&c.id_card_no));
        row("救助申请", &rec, "联系电话", text(&c.phone));
        row("救助申请", &rec, "区县", Cell::Text(c.district.clone()));
        row("救助申请", &rec, "家庭人口", Cell::Int(i64::from(c.household_size)));
        row("救助申请", &rec, "家庭月收入", Cell::Fen(c.household_income_fen));
        row("救助申请", &rec, "诊断", Cell::Text(c.diagnosis.clone()));
        row("救助申请", &rec, "医院", text(&c.hospital));
        row("救助申请", &rec, "开户银行", text(&c.bank_name));
        row("救助申请", &rec, "银行账号", text(&c.bank_account));
        row("救助申请", &rec, "申请金额", Cell::Fen(c.amount_fen));
        for k in &c.consents {
            row(
                "救助申请",
                &rec,
                &format!("单独同意 ({})", k.version),
                Cell::Text(format!("{} · {}", k.given_at.format("%Y-%m-%d %H:%M UTC"), k.text)),
            );
        }
    }
    Sheet {
        name: "个人信息".to_owned(),
        columns: ["类别", "记录", "项目", "内容"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect(),
        rows,
    }
}

pub async fn export_xlsx(
    headers: HeaderMap,
    user: PageUser<ManagePrivacy>,
    CsrfForm(form): CsrfForm<SubjectForm>,
) -> Result<Response, PageError> {
    match parse_subject(opt(&form.id_card_no), opt(&form.phone), Some(&form.requested_by)) {
        Ok((subject, who)) => {
            let export = user.store.privacy_export(&subject, &who).await?;
            Ok(xlsx_download(
                &format!("个人信息-{}", export.request_id),
                &sheet(&export),
            )?)
        }
        Err(errors) => {
            page(
                &headers,
                &user,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                None,
                form.requested_by,
                errors,
            )
            .await
        }
    }
}

pub async fn anonymise(
    State(state): State<AppState>,
    headers: HeaderMap,
    user: PageUser<ManagePrivacy>,
    CsrfForm(form): CsrfForm<SubjectForm>,
) -> Result<Response, PageError> {
    let parsed = parse_subject(opt(&form.id_card_no), opt(&form.phone), Some(&form.requested_by));
    let (subject, who) = match parsed {
        Ok(ok) if form.confirm == "yes" => ok,
        other => {
            let mut errors = other.err().unwrap_or_default();
            if form.confirm != "yes" {
                errors.add("confirm", "请勾选确认后再删除");
            }
            let refusal = errors.for_field("confirm").map(str::to_owned);
            return page(
                &headers,
                &user,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                refusal,
                form.requested_by,
                errors,
            )
            .await;
        }
    };
    match user
        .store
        .privacy_anonymise(&subject, &who, state.relief_files.as_ref())
        .await
    {
        Ok(r) => {
            let notice = format!(
                "已匿名化 {}: 捐赠人 {} 条, 会员 {} 条, 救助申请 {} 条; 捐赠金额、会计分录和公开账本不变。",
                r.subject_masked, r.detail["donors"], r.detail["members"], r.detail["relief_cases"]
            );
            page(
                &headers,
                &user,
                StatusCode::OK,
                Some(notice),
                None,
                String::new(),
                FieldErrors::new(),
            )
            .await
        }
        Err(StoreError::Conflict(why)) => {
            page(
                &headers,
                &user,
                StatusCode::CONFLICT,
                None,
                Some(why),
                who,
                FieldErrors::new(),
            )
            .await
        }
        Err(StoreError::Invalid(errors)) => {
            page(
                &headers,
                &user,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                None,
                who,
                errors,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}
