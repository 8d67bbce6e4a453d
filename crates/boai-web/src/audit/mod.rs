//! The audit trail for supervisors and admins: `/api/v1/audit` and the audit
//! page, filtered by record type, record id, who, action and date, exported
//! to Excel. Everyone sees only their subtree's rows.

mod present;

use crate::api::{json_response, ApiQuery, ListOf};
use crate::auth::{Authorized, PageUser, ViewAudit};
use crate::components::export::{Cell, Sheet};
use crate::components::list::{export_href, fetch_all, xlsx_download, CellView, ListView, Pager};
use crate::i18n::t;
use crate::pages::{china_time, lang_of, render, Layout};
use crate::query::PageQuery;
use crate::{ApiError, PageError};
use askama::Template;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use boai_domain::audit::AuditAction;
use boai_store::audit::{AuditFilter, AuditRecord};
use boai_store::Page;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// One audit row.
#[derive(Serialize, ToSchema)]
pub struct AuditDto {
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub actor_id: Option<Uuid>,
    pub actor_name: String,
    pub ip: Option<String>,
    /// `create`, `update`, `delete`, `login` or `logout`.
    pub action: String,
    pub entity: String,
    pub entity_id: String,
    pub org_id: Option<Uuid>,
    #[schema(value_type = Option<Object>)]
    pub before: Option<serde_json::Value>,
    #[schema(value_type = Option<Object>)]
    pub after: Option<serde_json::Value>,
    pub hash: String,
}

impl From<AuditRecord> for AuditDto {
    fn from(r: AuditRecord) -> Self {
        AuditDto {
            seq: r.seq,
            at: r.at,
            actor_id: r.actor_id,
            actor_name: r.actor_name,
            ip: r.ip,
            action: r.action,
            entity: r.entity,
            entity_id: r.entity_id,
            org_id: r.org_id,
            before: r.before,
            after: r.after,
            hash: r.hash,
        }
    }
}

/// Audit filters.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    pub entity: Option<String>,
    pub entity_id: Option<String>,
    /// Username of who acted.
    pub actor: Option<String>,
    pub action: Option<String>,
    /// First day (China time), `YYYY-MM-DD`.
    pub from: Option<String>,
    /// Last day (China time), `YYYY-MM-DD`.
    pub until: Option<String>,
    pub page: Option<u64>,
    pub per_page: Option<u64>,
    #[param(ignore)]
    pub format: Option<String>,
}

fn day_start(s: Option<&str>) -> Option<DateTime<Utc>> {
    let date = NaiveDate::parse_from_str(s?.trim(), "%Y-%m-%d").ok()?;
    let local = date.and_hms_opt(0, 0, 0)?;
    Some(DateTime::<Utc>::from_naive_utc_and_offset(local, Utc) - chrono::Duration::hours(8))
}

impl AuditQuery {
    fn filter(&self) -> AuditFilter {
        let text = |s: &Option<String>| s.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
        AuditFilter {
            entity: text(&self.entity),
            entity_id: text(&self.entity_id),
            actor_name: text(&self.actor),
            action: text(&self.action),
            from: day_start(self.from.as_deref()),
            until: day_start(self.until.as_deref()).map(|d| d + chrono::Duration::days(1)),
        }
    }

    fn params(&self) -> Vec<(&'static str, String)> {
        let v = |s: &Option<String>| s.clone().unwrap_or_default();
        vec![
            ("entity", v(&self.entity)),
            ("entity_id", v(&self.entity_id)),
            ("actor", v(&self.actor)),
            ("action", v(&self.action)),
            ("from", v(&self.from)),
            ("until", v(&self.until)),
        ]
    }
}

#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(AuditQuery),
    responses((status = 200, body = ListOf<AuditDto>), (status = 401), (status = 403)), security(("bearer" = [])))]
pub async fn list(auth: Authorized<ViewAudit>, ApiQuery(q): ApiQuery<AuditQuery>) -> Result<Response, ApiError> {
    let (items, total) = auth
        .store
        .audit_list(&q.filter(), Page::new(q.page, q.per_page))
        .await?;
    Ok(json_response(
        StatusCode::OK,
        &ListOf {
            items: items.into_iter().map(AuditDto::from).collect(),
            total,
        },
    ))
}

#[derive(Template)]
#[template(path = "audit_list.html")]
struct AuditPage {
    layout: Layout,
    kinds: Vec<(&'static str, String)>,
    q: AuditQuery,
    list: ListView,
}

/// At most `n` characters, with an ellipsis when cut.
fn shorten(text: &str, n: usize) -> String {
    if text.chars().count() <= n {
        text.to_owned()
    } else {
        format!("{}…", text.chars().take(n).collect::<String>())
    }
}

pub async fn page(
    headers: HeaderMap,
    user: PageUser<ViewAudit>,
    PageQuery(q): PageQuery<AuditQuery>,
) -> Result<Response, PageError> {
    let lang = lang_of(&headers);
    let filter = q.filter();
    let params = q.params();
    let columns: Vec<String> = [
        "audit.at",
        "audit.actor",
        "audit.action",
        "audit.entity",
        "audit.ip",
        "audit.change",
    ]
    .iter()
    .map(|k| t(lang, k).to_owned())
    .collect();
    if q.format.as_deref() == Some("xlsx") {
        let all = fetch_all(|p| user.store.audit_list(&filter, p), 100_000).await?;
        let rows = all
            .iter()
            .map(|r| {
                vec![
                    Cell::DateTime(r.at),
                    Cell::Text(r.actor_name.clone()),
                    Cell::Text(AuditAction::label_zh(&r.action).to_owned()),
                    Cell::Text(format!("{} ({})", present::label(r, lang), r.entity_id)),
                    Cell::Text(r.ip.clone().unwrap_or_default()),
                    Cell::Text(present::changes(r)),
                ]
            })
            .collect();
        return Ok(xlsx_download(
            "审计日志",
            &Sheet {
                name: t(lang, "audit.title").to_owned(),
                columns,
                rows,
            },
        )?);
    }
    let page = Page::new(q.page, q.per_page);
    let (items, total) = user.store.audit_list(&filter, page).await?;
    let rows = items
        .iter()
        .map(|r| {
            vec![
                CellView::text(china_time(r.at)),
                CellView::text(&r.actor_name),
                CellView::text(AuditAction::label_zh(&r.action)),
                CellView::link(
                    present::label(r, lang),
                    present::href(&r.entity, &r.entity_id).unwrap_or_else(|| {
                        format!(
                            "/audit?entity={}&entity_id={}",
                            crate::components::list::urlencode(&r.entity),
                            crate::components::list::urlencode(&r.entity_id)
                        )
                    }),
                ),
                CellView::text(r.ip.clone().unwrap_or_default()),
                CellView::text(shorten(&present::changes(r), 240)),
            ]
        })
        .collect();
    Ok(render(&AuditPage {
        layout: Layout::new(lang, t(lang, "audit.title"), "/audit", Some(&user.identity)),
        kinds: present::kinds(lang),
        list: ListView {
            columns,
            rows,
            pager: Pager::new("/audit", &params, page, total),
            export_href: export_href("/audit", &params),
        },
        q,
    }))
}
