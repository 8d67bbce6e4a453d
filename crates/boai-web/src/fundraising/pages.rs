//! Fundraising pages: the gifts list (search, filters, Excel export), the
//! staff entry form (amount typed in yuan, converted to fen exactly; errors
//! next to each field), a gift's page with its certificate and refunds, the
//! donors list, and the public certificate check.

use crate::auth::csrf::CsrfForm;
use crate::auth::{MaybeCaller, PageUser, RecordGifts, ViewGifts};
use crate::components::confirm::Confirm;
use crate::components::export::{Cell, Sheet};
use crate::components::list::{export_href, fetch_all, xlsx_download, CellView, ListView, Pager};
use crate::fundraising::api::DonationQuery;
use crate::fundraising::certificates::{pdf_response, Claim};
use crate::i18n::t;
use crate::pages::{china_time, lang_of, render, Layout};
use crate::query::PageQuery;
use crate::{ApiError, AppState, PageError};
use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use boai_domain::accounts::Permission;
use boai_domain::fundraising::{Channel, DonationForCreate, DonationInput, DonorInput, GoodsInput};
use boai_domain::ids::GiftId;
use boai_domain::money::parse_yuan;
use boai_domain::validation::FieldErrors;
use boai_store::fundraising::Gift;
use boai_store::funds::{Project, ProjectFilter, ProjectStatus};
use boai_store::{Page, StoreError};
use serde::Deserialize;

#[derive(Template)]
#[template(path = "gifts_list.html")]
struct GiftsPage {
    layout: Layout,
    q: DonationQueryView,
    projects: Vec<Project>,
    channels: Vec<(&'static str, &'static str)>,
    list: ListView,
    can_record: bool,
}

struct DonationQueryView {
    q: String,
    project_id: String,
    channel: String,
    from: String,
    until: String,
}

fn columns() -> Vec<String> {
    ["证书编号", "日期", "捐赠人", "项目", "方式", "金额", "状态"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect()
}

async fn all_projects(user_store: &boai_store::ScopedStore) -> Result<Vec<Project>, StoreError> {
    Ok(user_store
        .projects_list(&ProjectFilter::default(), Page::new(Some(1), Some(100)))
        .await?
        .0)
}

pub async fn gifts(
    headers: HeaderMap,
    user: PageUser<ViewGifts>,
    PageQuery(q): PageQuery<DonationQuery>,
) -> Result<Response, PageError> {
    let lang = lang_of(&headers);
    let filter = q.filter();
    let view = DonationQueryView {
        q: q.q.clone().unwrap_or_default(),
        project_id: q.project_id.map(|p| p.to_string()).unwrap_or_default(),
        channel: q.channel.clone().unwrap_or_default(),
        from: q.from.map(|d| d.to_string()).unwrap_or_default(),
        until: q.until.map(|d| d.to_string()).unwrap_or_default(),
    };
    let params = [
        ("q", view.q.clone()),
        ("project_id", view.project_id.clone()),
        ("channel", view.channel.clone()),
        ("from", view.from.clone()),
        ("until", view.until.clone()),
    ];
    let page = Page::new(q.page, q.per_page);
    let (items, total) = user.store.donations_list(&filter, page).await?;
    let rows = items
        .iter()
        .map(|g| {
            vec![
                CellView::link(&g.certificate_no, format!("/fundraising/gifts/{}", g.id)),
                CellView::text(g.received_on.to_string()),
                CellView::text(g.donor_name.clone().unwrap_or_else(|| "匿名".to_owned())),
                CellView::text(&g.project_name),
                CellView::text(g.channel.label_zh()),
                CellView::text(g.amount.display_yuan()),
                CellView::text(g.status.label_zh()),
            ]
        })
        .collect();
    Ok(render(&GiftsPage {
        layout: Layout::new(lang, t(lang, "nav.fundraising"), "/fundraising", Some(&user.identity)),
        q: view,
        projects: all_projects(&user.store).await?,
        channels: Channel::ALL.iter().map(|c| (c.as_str(), c.label_zh())).collect(),
        list: ListView {
            columns: columns(),
            rows,
            pager: Pager::new("/fundraising", &params, page, total),
            export_href: export_href("/fundraising/export", &params),
        },
        can_record: user.identity.actor.role.can(Permission::RecordGifts),
    }))
}

/// The gifts list as Excel (same filters).
pub async fn export(user: PageUser<ViewGifts>, PageQuery(q): PageQuery<DonationQuery>) -> Result<Response, PageError> {
    let filter = q.filter();
    let all = fetch_all(|p| user.store.donations_list(&filter, p), 200_000).await?;
    let rows = all
        .iter()
        .map(|g| {
            vec![
                Cell::Text(g.certificate_no.clone()),
                Cell::Date(g.received_on),
                Cell::Text(g.donor_name.clone().unwrap_or_else(|| "匿名".to_owned())),
                Cell::Text(g.project_name.clone()),
                Cell::Text(g.channel.label_zh().to_owned()),
                Cell::Fen(g.amount.0),
                Cell::Text(g.status.label_zh().to_owned()),
            ]
        })
        .collect();
    Ok(xlsx_download(
        "捐赠记录",
        &Sheet {
            name: "捐赠记录".to_owned(),
            columns: columns(),
            rows,
        },
    )?)
}

#[derive(Debug, Default, Deserialize, Clone)]
pub struct GiftForm {
    #[serde(default)]
    project_id: String,
    #[serde(default)]
    amount_yuan: String,
    #[serde(default)]
    channel: String,
    #[serde(default)]
    donor_kind: String,
    #[serde(default)]
    donor_name: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    id_card_no: String,
    #[serde(default)]
    credit_code: String,
    #[serde(default)]
    public: Option<String>,
    #[serde(default)]
    received_on: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    goods_item: String,
    #[serde(default)]
    goods_quantity: String,
    #[serde(default)]
    goods_unit: String,
    #[serde(default)]
    goods_lot: String,
    #[serde(default)]
    goods_expires_on: String,
}

#[derive(Template)]
#[template(path = "gift_new.html")]
struct NewGiftPage {
    layout: Layout,
    projects: Vec<Project>,
    channels: Vec<(&'static str, &'static str)>,
    form: GiftForm,
    errors: FieldErrors,
}

async fn new_page(
    user: &PageUser<RecordGifts>,
    headers: &HeaderMap,
    form: GiftForm,
    errors: FieldErrors,
) -> Result<Response, PageError> {
    let lang = lang_of(headers);
    let projects = user
        .store
        .projects_list(
            &ProjectFilter {
                status: Some(ProjectStatus::Open),
                ..ProjectFilter::default()
            },
            Page::new(Some(1), Some(100)),
        )
        .await?
        .0;
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let mut response = render(&NewGiftPage {
        layout: Layout::new(lang, "录入捐赠", "/fundraising", Some(&user.identity)),
        projects,
        channels: Channel::ALL
            .iter()
            .filter(|c| c.recordable_by_staff())
            .map(|c| (c.as_str(), c.label_zh()))
            .collect(),
        form,
        errors,
    });
    *response.status_mut() = status;
    Ok(response)
}

pub async fn new_form(headers: HeaderMap, user: PageUser<RecordGifts>) -> Result<Response, PageError> {
    let form = GiftForm {
        channel: "bank_transfer".to_owned(),
        donor_kind: "person".to_owned(),
        ..GiftForm::default()
    };
    new_page(&user, &headers, form, FieldErrors::new()).await
}

fn form_to_input(form: &GiftForm, errors: &mut FieldErrors) -> DonationInput {
    let is_goods = form.channel == "goods";
    let amount = if is_goods {
        None
    } else {
        match parse_yuan(&form.amount_yuan) {
            Some(f) => Some(serde_json::json!(f.0)),
            None if form.amount_yuan.trim().is_empty() => None,
            None => {
                errors.add("amount_fen", "金额格式有误, 例如 1234.56");
                Some(serde_json::Value::Null)
            }
        }
    };
    let donor = match form.donor_kind.as_str() {
        "anonymous" => None,
        kind => Some(DonorInput {
            kind: Some(kind.to_owned()),
            name: Some(form.donor_name.clone()),
            phone: Some(form.phone.clone()),
            id_card_no: Some(form.id_card_no.clone()),
            credit_code: Some(form.credit_code.clone()),
            public: Some(form.public.is_some()),
        }),
    };
    let goods = is_goods.then(|| GoodsInput {
        item: Some(form.goods_item.clone()),
        quantity: form
            .goods_quantity
            .trim()
            .parse::<i64>()
            .ok()
            .map(|q| serde_json::json!(q)),
        unit: Some(form.goods_unit.clone()),
        value_fen: parse_yuan(&form.amount_yuan).map(|f| serde_json::json!(f.0)),
        lot: Some(form.goods_lot.clone()),
        expires_on: Some(form.goods_expires_on.clone()),
    });
    DonationInput {
        project_id: Some(form.project_id.clone()),
        amount_fen: amount,
        channel: Some(form.channel.clone()),
        donor,
        goods,
        received_on: Some(form.received_on.clone()),
        note: Some(form.note.clone()),
    }
}

pub async fn create(
    headers: HeaderMap,
    user: PageUser<RecordGifts>,
    CsrfForm(form): CsrfForm<GiftForm>,
) -> Result<Response, PageError> {
    let mut errors = FieldErrors::new();
    let input = form_to_input(&form, &mut errors);
    let parsed = DonationForCreate::parse(&input);
    let parsed = match parsed {
        Ok(p) if errors.is_empty() => p,
        Ok(_) => return new_page(&user, &headers, form, errors).await,
        Err(mut more) => {
            more.0.retain(|e| errors.for_field(&e.field).is_none());
            errors.0.extend(more.0);
            if let Some(pos) = errors.0.iter().position(|e| e.field == "goods.value_fen") {
                errors.0[pos].field = "amount_fen".to_owned();
            }
            return new_page(&user, &headers, form, errors).await;
        }
    };
    match user.store.donation_create(parsed, None).await {
        Ok(gift) => Ok(Redirect::to(&format!("/fundraising/gifts/{}", gift.id)).into_response()),
        Err(StoreError::Invalid(errors)) => new_page(&user, &headers, form, errors).await,
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "gift_detail.html")]
struct GiftPage {
    layout: Layout,
    gift: Gift,
    capitals: String,
    created: String,
    can_refund: bool,
    refundable: String,
    error: Option<String>,
}

async fn gift_page<N: crate::auth::Need>(
    headers: &HeaderMap,
    user: &PageUser<N>,
    id: GiftId,
    error: Option<String>,
) -> Result<Response, PageError> {
    let lang = lang_of(headers);
    let gift = user.store.donation_get(id).await?;
    let refundable = boai_domain::Fen(gift.amount.0 - gift.refunded.0);
    Ok(render(&GiftPage {
        layout: Layout::new(lang, gift.certificate_no.clone(), "/fundraising", Some(&user.identity)),
        created: china_time(gift.created_at),
        capitals: boai_domain::capitals::fen_to_capitals(gift.amount.0),
        can_refund: user.identity.actor.role.can(Permission::RecordGifts) && refundable.0 > 0,
        refundable: refundable.display_yuan(),
        gift,
        error,
    }))
}

pub async fn gift(
    headers: HeaderMap,
    user: PageUser<ViewGifts>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id: GiftId = id.parse().map_err(|_| ApiError::NotFound)?;
    gift_page(&headers, &user, id, None).await
}

#[derive(Debug, Deserialize)]
pub struct RefundForm {
    amount_yuan: String,
    reason: String,
    /// `1` once the person has seen and confirmed the refund.
    confirmed: Option<String>,
}

/// The messages of broken rules, without field names (for a person).
fn messages(errors: &FieldErrors) -> String {
    errors
        .0
        .iter()
        .map(|e| e.message.as_str())
        .collect::<Vec<_>>()
        .join("; ")
}

pub async fn refund(
    headers: HeaderMap,
    user: PageUser<RecordGifts>,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<RefundForm>,
) -> Result<Response, PageError> {
    let id: GiftId = id.parse().map_err(|_| ApiError::NotFound)?;
    let Some(amount) = parse_yuan(&form.amount_yuan) else {
        return gift_page(
            &headers,
            &user,
            id,
            Some("退款金额格式有误, 请以元为单位填写, 如 100 或 100.50".to_owned()),
        )
        .await;
    };
    if form.reason.trim().is_empty() {
        return gift_page(&headers, &user, id, Some("请填写退款原因 (记入审计日志)".to_owned())).await;
    }
    if !Confirm::given(form.confirmed.as_deref()) {
        let gift = user.store.donation_get(id).await?;
        let refundable = gift.amount.0 - gift.refunded.0;
        if amount.0 <= 0 || amount.0 > refundable {
            let most = boai_domain::Fen(refundable).display_yuan();
            return gift_page(
                &headers,
                &user,
                id,
                Some(format!("退款金额须大于 0 且不超过可退金额 {most}")),
            )
            .await;
        }
        let after = boai_domain::Fen(refundable - amount.0);
        let lang = lang_of(&headers);
        return Ok(Confirm {
            heading: format!("确认退款: 捐赠 {}", gift.certificate_no),
            warning: "退款将冲销这笔捐赠在资金账上的记录, 并作为一条新记录写入公开账本; 经办人、时间和原因记入审计日志, 不能撤回。".to_owned(),
            facts: vec![
                ("捐赠人".to_owned(), gift.donor_name.clone().unwrap_or_else(|| "匿名".to_owned())),
                ("项目".to_owned(), gift.project_name.clone()),
                ("原捐赠金额".to_owned(), gift.amount.display_yuan()),
                ("已退".to_owned(), gift.refunded.display_yuan()),
                ("本次退款".to_owned(), amount.display_yuan()),
                ("退款后仍可退".to_owned(), after.display_yuan()),
                ("原因".to_owned(), form.reason.trim().to_owned()),
                ("经办人".to_owned(), user.identity.display_name().to_owned()),
            ],
            action: format!("/fundraising/gifts/{id}/refunds"),
            fields: vec![
                ("amount_yuan".to_owned(), form.amount_yuan.clone()),
                ("reason".to_owned(), form.reason.clone()),
            ],
            confirm_label: format!("确认退款 {}", amount.display_yuan()),
            cancel: format!("/fundraising/gifts/{id}"),
        }
        .render(Layout::new(lang, "确认退款", "/fundraising", Some(&user.identity))));
    }
    match user.store.donation_refund(id, amount, form.reason.trim()).await {
        Ok(_) => Ok(Redirect::to(&format!("/fundraising/gifts/{id}")).into_response()),
        Err(StoreError::Invalid(errors)) => gift_page(&headers, &user, id, Some(messages(&errors))).await,
        Err(e) => Err(e.into()),
    }
}

pub async fn certificate(
    State(state): State<AppState>,
    user: PageUser<ViewGifts>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id: GiftId = id.parse().map_err(|_| ApiError::NotFound)?;
    let gift = user.store.donation_get(id).await?;
    Ok(pdf_response(&state, &gift).await?)
}

#[derive(Template)]
#[template(path = "donors_list.html")]
struct DonorsPage {
    layout: Layout,
    q: String,
    list: ListView,
}

#[derive(Debug, Default, Deserialize)]
pub struct DonorListQuery {
    q: Option<String>,
    page: Option<u64>,
    per_page: Option<u64>,
    format: Option<String>,
}

pub async fn donors(
    headers: HeaderMap,
    user: PageUser<ViewGifts>,
    PageQuery(q): PageQuery<DonorListQuery>,
) -> Result<Response, PageError> {
    let lang = lang_of(&headers);
    let columns: Vec<String> = ["名称", "类型", "手机", "身份证", "统一社会信用代码", "公开署名"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    let params = [("q", q.q.clone().unwrap_or_default())];
    if q.format.as_deref() == Some("xlsx") {
        let all = fetch_all(|p| user.store.donors_list(q.q.as_deref(), p), 200_000).await?;
        let rows = all
            .iter()
            .map(|d| {
                vec![
                    Cell::Text(d.name.clone()),
                    Cell::Text(
                        if d.kind.as_str() == "person" {
                            "个人"
                        } else {
                            "单位"
                        }
                        .to_owned(),
                    ),
                    Cell::Text(d.phone_masked.clone().unwrap_or_default()),
                    Cell::Text(d.id_card_masked.clone().unwrap_or_default()),
                    Cell::Text(d.credit_code.clone().unwrap_or_default()),
                    Cell::Text(if d.public { "是" } else { "否" }.to_owned()),
                ]
            })
            .collect();
        return Ok(xlsx_download(
            "捐赠人",
            &Sheet {
                name: "捐赠人".to_owned(),
                columns,
                rows,
            },
        )?);
    }
    let page = Page::new(q.page, q.per_page);
    let (items, total) = user.store.donors_list(q.q.as_deref(), page).await?;
    let rows = items
        .iter()
        .map(|d| {
            vec![
                CellView::link(&d.name, format!("/fundraising?donor_id={}", d.id)),
                CellView::text(if d.kind.as_str() == "person" {
                    "个人"
                } else {
                    "单位"
                }),
                CellView::text(d.phone_masked.clone().unwrap_or_default()),
                CellView::text(d.id_card_masked.clone().unwrap_or_default()),
                CellView::text(d.credit_code.clone().unwrap_or_default()),
                CellView::text(if d.merged_into.is_some() {
                    "已合并"
                } else if d.public {
                    "是"
                } else {
                    "否"
                }),
            ]
        })
        .collect();
    Ok(render(&DonorsPage {
        layout: Layout::new(lang, "捐赠人", "/fundraising", Some(&user.identity)),
        q: q.q.clone().unwrap_or_default(),
        list: ListView {
            columns,
            rows,
            pager: Pager::new("/fundraising/donors", &params, page, total),
            export_href: export_href("/fundraising/donors", &params),
        },
    }))
}

#[derive(Template)]
#[template(path = "certificate_verify.html")]
struct VerifyPage {
    layout: Layout,
    genuine: bool,
    reason: String,
    gift: Option<Gift>,
}

/// The public page a certificate's QR code opens.
pub async fn verify(
    State(state): State<AppState>,
    headers: HeaderMap,
    MaybeCaller(caller): MaybeCaller,
    PageQuery(claim): PageQuery<Claim>,
) -> Result<Response, PageError> {
    let lang = lang_of(&headers);
    let (genuine, reason, gift) = if !claim.signature_holds(&state) {
        (false, "证书数据与签名不符: 证书信息被改动或为伪造。".to_owned(), None)
    } else {
        match state.store.certificate_lookup(&claim.no).await? {
            None => (false, "查无此证书。".to_owned(), None),
            Some(gift)
                if Claim::of(&gift)
                    != Claim {
                        sig: String::new(),
                        ..claim.clone()
                    } =>
            {
                (false, "证书数据与登记记录不符。".to_owned(), None)
            }
            Some(gift) if gift.status.as_str() == "refunded" => {
                (false, "该笔捐赠已全额退款, 证书已失效。".to_owned(), Some(gift))
            }
            Some(gift) => (true, "签名有效, 且与登记记录一致。".to_owned(), Some(gift)),
        }
    };
    let mut response = render(&VerifyPage {
        layout: Layout::new(lang, "证书验证", "/certificates/verify", caller.as_ref()),
        genuine,
        reason,
        gift,
    });
    if !genuine {
        *response.status_mut() = StatusCode::OK;
    }
    Ok(response)
}
