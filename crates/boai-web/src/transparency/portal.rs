//! The public side of the ledger (公开透明), no sign-in needed:
//! - `/transparency`: each project's published totals next to the sums of
//!   the ledger entries at the same size (✓ when equal, ✗ in red when not),
//!   money received and spent per month over the last 12 months, goods in
//!   and out, and the newest signed checkpoint with links to check it;
//! - `/transparency/find` (查询我的捐赠): a certificate number plus a second
//!   factor (the donor's name, the last 4 digits of their phone, or for an
//!   anonymous gift the amount) shows the gift, its ledger entry, the opening
//!   of its commitment, its inclusion proof (checked again in the browser by
//!   `/static/ledger-proof.js`) and where the money went
//!   ([`boai_ledger::trace`]). Rate-limited per client; a wrong detail gets
//!   one neutral message, whatever was wrong;
//! - `/transparency/verify`: how anyone can check the ledger themselves.

use crate::api::ApiPath;
use crate::auth::pages::RawParts;
use crate::auth::{client_ip, MaybeCaller};
use crate::components::chart::PairedColumnChart;
use crate::i18n::{t, Lang};
use crate::ledger::{proof_of, ProofOut};
use crate::pages::{china_time, render, Layout};
use crate::query::PageQuery;
use crate::{ApiError, AppState, PageError};
use askama::Template;
use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::{Form, Json};
use boai_domain::funds::EntryKind;
use boai_domain::money::{parse_yuan, Fen};
use boai_ledger::audit::ProjectTotals;
use boai_ledger::trace::{trace_gift, Asset, End, GiftTrace, Step};
use boai_ledger::LedgerEntry;
use boai_store::fundraising::Gift;
use boai_store::ledger::portal::FindAttempt;
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::Deserialize;
use std::collections::HashMap;

/// The script that checks a proof in the browser.
const PROOF_JS: &str = include_str!("../../static/ledger-proof.js");

/// `/static/ledger-proof.js` (CSP allows scripts from this origin only).
pub async fn proof_script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        PROOF_JS,
    )
}

fn yuan(fen: i64) -> String {
    Fen(fen).display_yuan()
}

/// An entry's `at` as a China date and time (or as written, if malformed).
fn entry_time(at: &str) -> String {
    DateTime::parse_from_rfc3339(at)
        .map(|d| china_time(d.with_timezone(&Utc)))
        .unwrap_or_else(|_| at.to_owned())
}

/// An entry's month in China time, `YYYY-MM`.
fn kind_label(lang: Lang, kind: &str) -> String {
    let Some(k) = EntryKind::parse(kind) else {
        return kind.to_owned();
    };
    match lang {
        Lang::Zh => k.label_zh().to_owned(),
        Lang::En => match k {
            EntryKind::Gift => "gift",
            EntryKind::GoodsIn => "goods received",
            EntryKind::Allocation => "allocation",
            EntryKind::Disbursement => "disbursement",
            EntryKind::GoodsOut => "goods dispatched",
            EntryKind::Transfer => "transfer",
            EntryKind::ManagementCost => "management cost",
            EntryKind::Reversal => "reversal",
        }
        .to_owned(),
    }
}

/// Project names by id, from the published totals (public projects only).
async fn project_names(state: &AppState) -> Result<HashMap<String, String>, ApiError> {
    Ok(state
        .store
        .ledger_published_totals()
        .await?
        .projects
        .into_iter()
        .map(|p| (p.project_id, p.name))
        .collect())
}

// ---------------------------------------------------------------- portal

/// One project's row: published totals, the ledger's sums, goods.
struct ProjectRow {
    name: String,
    code: String,
    cells: Vec<TotalCell>,
    ok: bool,
}

struct TotalCell {
    label: &'static str,
    published: String,
    /// The ledger's sum, when it differs.
    ledger: Option<String>,
}

struct MonthRow {
    month: String,
    received: String,
    spent: String,
}

struct GoodsRow {
    name: String,
    received: String,
    dispatched: String,
    in_stock: String,
}

#[derive(Template)]
#[template(path = "portal.html")]
struct PortalPage {
    layout: Layout,
    ledger_size: u64,
    rows: Vec<ProjectRow>,
    all_ok: bool,
    chart_svg: String,
    months: Vec<MonthRow>,
    goods: Vec<GoodsRow>,
    checkpoint: Option<(u64, String, String)>,
}

fn cells(lang: Lang, published: &ProjectTotals, summed: &ProjectTotals) -> Vec<TotalCell> {
    let pick = |t: &ProjectTotals| [t.raised_fen, t.allocated_fen, t.spent_fen, t.refunded_fen];
    let labels = ["portal.received", "portal.allocated", "portal.spent", "portal.refunded"];
    pick(published)
        .into_iter()
        .zip(pick(summed))
        .zip(labels)
        .map(|((p, s), label)| TotalCell {
            label: t(lang, label),
            published: yuan(p),
            ledger: (p != s).then(|| yuan(s)),
        })
        .collect()
}

/// The last 12 months up to `today`'s, oldest first (`YYYY-MM`).
fn last_12_months(today: NaiveDate) -> Vec<String> {
    let mut y = today.year();
    let mut m = today.month();
    let mut out = Vec::with_capacity(12);
    for _ in 0..12 {
        out.push(format!("{y:04}-{m:02}"));
        if m == 1 {
            y -= 1;
            m = 12;
        } else {
            m -= 1;
        }
    }
    out.reverse();
    out
}

/// `/transparency`: the portal.
pub async fn index(
    State(state): State<AppState>,
    RawParts(parts): RawParts,
    MaybeCaller(caller): MaybeCaller,
) -> Result<Response, PageError> {
    let lang = Lang::from_parts(&parts);
    let published = state.store.ledger_published_totals().await?;
    // The same snapshot size as the published figures: the ledger's own sums
    // (as `Store::ledger_sums` computes them), the chart and the goods, from
    // the store's running digest of the public entries.
    let digest = state.store.ledger_digest(published.ledger_size).await?;
    let sums = &digest.totals;
    let names: HashMap<&str, &str> = published
        .projects
        .iter()
        .map(|p| (p.project_id.as_str(), p.name.as_str()))
        .collect();
    let rows: Vec<ProjectRow> = published
        .projects
        .iter()
        .map(|p| {
            let summed = sums.get(&p.project_id).copied().unwrap_or_default();
            ProjectRow {
                name: p.name.clone(),
                code: p.code.clone(),
                cells: cells(lang, &p.totals, &summed),
                ok: summed == p.totals,
            }
        })
        .collect();
    let months = digest.monthly(&last_12_months(state.store.china_today()));
    let chart = PairedColumnChart {
        title: t(lang, "portal.monthly").to_owned(),
        unit: t(lang, "portal.yuan").to_owned(),
        names: (
            t(lang, "portal.received").to_owned(),
            t(lang, "portal.spent").to_owned(),
        ),
        columns: months
            .iter()
            .map(|(m, r, s)| (m[2..].to_owned(), r / 100, s / 100))
            .collect(),
    };
    let goods = digest
        .goods
        .iter()
        .filter(|(_, (i, o))| *i != 0 || *o != 0)
        .map(|(project, (i, o))| GoodsRow {
            name: names.get(project.as_str()).map_or(project.clone(), |n| (*n).to_owned()),
            received: yuan(*i),
            dispatched: yuan(*o),
            in_stock: yuan(i - o),
        })
        .collect();
    let checkpoint = match state.store.ledger_checkpoint().await? {
        Some(c) => Some(c),
        None => Some(state.store.ledger_sign(&state.ledger_signer).await?),
    }
    .map(|c| (c.size, c.root.to_base64(), china_time(c.signed_at)));
    Ok(render(&PortalPage {
        layout: Layout::new(lang, t(lang, "nav.transparency"), "/transparency", caller.as_ref()),
        ledger_size: published.ledger_size,
        all_ok: rows.iter().all(|r| r.ok),
        rows,
        chart_svg: chart.to_svg(),
        months: months
            .into_iter()
            .map(|(month, r, s)| MonthRow {
                month,
                received: yuan(r),
                spent: yuan(s),
            })
            .collect(),
        goods,
        checkpoint,
    }))
}

// ---------------------------------------------------------------- find

/// The find form's fields (query string or form body).
#[derive(Debug, Default, Clone, Deserialize)]
pub struct FindForm {
    #[serde(default)]
    cert: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    phone4: String,
    #[serde(default)]
    amount: String,
}

/// One piece of the gift's money, as shown.
struct FlowRow {
    amount: String,
    moves: Vec<String>,
    end: String,
    end_index: Option<u64>,
    remaining: bool,
    /// The relief case the outflow paid (its public page), if any.
    relief_href: String,
    relief_label: String,
}

/// What a successful look-up shows.
struct Found {
    gift: Gift,
    channel: &'static str,
    status: &'static str,
    ledger_index: u64,
    proof: ProofOut,
    /// The proof's audit path, space-separated base64 (for the script).
    path_joined: String,
    donor_name: String,
    salt: String,
    commitment: String,
    commitment_ok: bool,
    /// Found without the name (phone tail) and the name is not public: the
    /// full name, the salt and the commitment's opening are not shown.
    opening_hidden: bool,
    flows: Vec<FlowRow>,
    asset_goods: bool,
    spent: String,
    refunded: String,
    remaining: String,
}

#[derive(Template)]
#[template(path = "portal_find.html")]
struct FindPage {
    layout: Layout,
    form: FindForm,
    error: Option<&'static str>,
    found: Option<Found>,
}

/// `GET /transparency/find`: the form, or a look-up when `cert` is given.
pub async fn find(
    State(state): State<AppState>,
    RawParts(parts): RawParts,
    MaybeCaller(caller): MaybeCaller,
    PageQuery(form): PageQuery<FindForm>,
) -> Result<Response, PageError> {
    find_page(&state, &parts, caller.as_ref(), form).await
}

/// `POST /transparency/find`: a look-up (the details stay out of the URL).
pub async fn find_post(
    State(state): State<AppState>,
    RawParts(parts): RawParts,
    MaybeCaller(caller): MaybeCaller,
    Form(form): Form<FindForm>,
) -> Result<Response, PageError> {
    find_page(&state, &parts, caller.as_ref(), form).await
}

/// The neutral answer to any wrong detail.
const NOT_FOUND: &str = "portal.not_found";

async fn find_page(
    state: &AppState,
    parts: &axum::http::request::Parts,
    caller: Option<&crate::auth::Identity>,
    mut form: FindForm,
) -> Result<Response, PageError> {
    let lang = Lang::from_parts(parts);
    form.cert = form.cert.trim().to_uppercase();
    form.name = form.name.trim().to_owned();
    form.phone4 = form.phone4.trim().to_owned();
    form.amount = form.amount.trim().to_owned();
    let (error, found, refused_until) = if form.cert.is_empty() {
        (None, None, None)
    } else {
        state
            .lookup_limiter
            .check(client_ip(parts).as_deref())
            .map_err(|secs| ApiError::TooManyRequests { retry_after_secs: secs })?;
        // Counted per certificate before the second factor is checked,
        // whichever client asks (250 addresses get no more guesses than one).
        match state.store.find_gift_attempt(&form.cert, client_ip(parts)).await? {
            FindAttempt::NoSuchGift => (Some(t(lang, NOT_FOUND)), None, None),
            FindAttempt::Refused { until } => (Some(t(lang, "portal.too_many_guesses")), None, Some(until)),
            FindAttempt::Go(guess) => match look_up(state, lang, &form).await? {
                Some(found) => {
                    state.store.find_gift_found(guess).await?;
                    (None, Some(found), None)
                }
                None => (Some(t(lang, NOT_FOUND)), None, None),
            },
        }
    };
    let mut response = render(&FindPage {
        layout: Layout::new(lang, t(lang, "portal.find"), "/transparency/find", caller),
        form: FindForm {
            // Never echo the second factor back.
            phone4: String::new(),
            ..form
        },
        error,
        found,
    });
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Some(until) = refused_until {
        let secs = (until - state.store.clock().now()).num_seconds().max(1);
        *response.status_mut() = axum::http::StatusCode::TOO_MANY_REQUESTS;
        if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
    }
    Ok(response)
}

/// Whether the second factor matches the gift.
async fn second_factor_holds(state: &AppState, form: &FindForm, gift: &Gift) -> Result<bool, ApiError> {
    let named = gift.donor_id.is_some();
    if named {
        if !form.name.is_empty() && gift.donor_name.as_deref().map(str::trim) == Some(form.name.as_str()) {
            return Ok(true);
        }
        if !form.phone4.is_empty() {
            return Ok(state
                .store
                .gift_phone_tail_matches(&gift.certificate_no, &form.phone4)
                .await?);
        }
        Ok(false)
    } else {
        let amount = form.amount.trim_start_matches('¥').replace(',', "");
        Ok(parse_yuan(&amount).is_some_and(|a| a == gift.amount))
    }
}

async fn look_up(state: &AppState, lang: Lang, form: &FindForm) -> Result<Option<Found>, ApiError> {
    let Some(gift) = state.store.certificate_lookup(&form.cert).await? else {
        return Ok(None);
    };
    if !second_factor_holds(state, form, &gift).await? {
        return Ok(None);
    }
    let Some(ledger_index) = gift.ledger_index.and_then(|i| u64::try_from(i).ok()) else {
        return Err(ApiError::Internal("a gift without its ledger index".into()));
    };
    let proof = proof_of(state, ledger_index).await?;
    let entry = LedgerEntry::from_canonical(proof.entry.as_bytes()).map_err(|e| ApiError::Internal(e.to_string()))?;
    let salt = state
        .store
        .gift_commitment_salt(&gift.certificate_no)
        .await?
        .unwrap_or_default();
    // No more of the name than the public ledger shows (张**), unless the
    // visitor typed the name itself or the donor consented to show it; the
    // salt with the commitment would let anyone test names offline, so it
    // goes with the name.
    let full_name = gift.donor_name.clone().unwrap_or_default();
    let name_typed = !form.name.is_empty() && full_name.trim() == form.name;
    let open = gift.donor_id.is_none() || name_typed || (!full_name.is_empty() && full_name == gift.public_name);
    let (donor_name, salt) = if open {
        (full_name, salt)
    } else {
        (String::new(), String::new())
    };
    let commitment = if open {
        boai_ledger::commitment(&gift.certificate_no, &donor_name, &salt)
    } else {
        String::new()
    };
    let entries = state.store.ledger_entries_parsed(proof.tree_size).await?;
    let trace = trace_gift(&entries, ledger_index).map_err(|e| ApiError::Internal(e.to_string()))?;
    let names = project_names(state).await?;
    let mut flows = flow_rows(lang, &trace, &names);
    relief_links(state, &mut flows).await?;
    Ok(Some(Found {
        channel: gift.channel.label_zh(),
        status: gift.status.label_zh(),
        ledger_index,
        path_joined: proof.path.join(" "),
        commitment_ok: open && entry.commitment.as_deref() == Some(commitment.as_str()),
        opening_hidden: !open,
        donor_name,
        salt,
        commitment,
        flows,
        asset_goods: trace.asset == Asset::Goods,
        spent: yuan(trace.spent_fen()),
        refunded: yuan(trace.refunded_fen()),
        remaining: yuan(trace.remaining_fen()),
        proof,
        gift,
    }))
}

/// Links the outflows that paid relief cases to the cases' public pages.
async fn relief_links(state: &AppState, flows: &mut [FlowRow]) -> Result<(), ApiError> {
    let indexes: Vec<i64> = flows
        .iter()
        .filter_map(|f| f.end_index.and_then(|i| i64::try_from(i).ok()))
        .collect();
    let cases = state.store.relief_cases_at(&indexes).await?;
    for f in flows.iter_mut() {
        if let Some(c) = f
            .end_index
            .and_then(|i| i64::try_from(i).ok())
            .and_then(|i| cases.get(&i))
        {
            f.relief_href = format!("/relief/aided/{}", c.ledger_index);
            f.relief_label = format!("救助个案 {} · {}", c.pseudonym, c.programme);
        }
    }
    Ok(())
}

fn project_name(names: &HashMap<String, String>, id: &str) -> String {
    names.get(id).cloned().unwrap_or_else(|| id.to_owned())
}

fn move_text(lang: Lang, s: &Step, names: &HashMap<String, String>) -> String {
    let from = s
        .from_project_id
        .as_deref()
        .map(|f| project_name(names, f))
        .unwrap_or_default();
    let to = project_name(names, &s.project_id);
    match lang {
        Lang::Zh => format!(
            "{} #{} · {} · {} → {} (本笔共 {})",
            entry_time(&s.at),
            s.index,
            kind_label(lang, &s.kind),
            from,
            to,
            yuan(s.amount_fen)
        ),
        Lang::En => format!(
            "{} #{} · {} · {} → {} ({} in all)",
            entry_time(&s.at),
            s.index,
            kind_label(lang, &s.kind),
            from,
            to,
            yuan(s.amount_fen)
        ),
    }
}

fn flow_rows(lang: Lang, trace: &GiftTrace, names: &HashMap<String, String>) -> Vec<FlowRow> {
    trace
        .flows
        .iter()
        .map(|f| {
            let (end, end_index, remaining) = match &f.end {
                End::Spent { step } => {
                    let who = step.recipient.clone().unwrap_or_else(|| "—".to_owned());
                    let text = match lang {
                        Lang::Zh => format!(
                            "{} #{} · {} {} · 受助方 {} (本笔共 {})",
                            entry_time(&step.at),
                            step.index,
                            project_name(names, &step.project_id),
                            kind_label(lang, &step.kind),
                            who,
                            yuan(step.amount_fen)
                        ),
                        Lang::En => format!(
                            "{} #{} · {} {} · recipient {} ({} in all)",
                            entry_time(&step.at),
                            step.index,
                            project_name(names, &step.project_id),
                            kind_label(lang, &step.kind),
                            who,
                            yuan(step.amount_fen)
                        ),
                    };
                    (text, Some(step.index), false)
                }
                End::Refunded { step, own } => {
                    let text = match (lang, own) {
                        (Lang::Zh, true) => format!("{} #{} · 退还给您", entry_time(&step.at), step.index),
                        (Lang::Zh, false) => {
                            format!("{} #{} · 用于另一笔捐赠的退款", entry_time(&step.at), step.index)
                        }
                        (Lang::En, true) => format!("{} #{} · refunded to you", entry_time(&step.at), step.index),
                        (Lang::En, false) => {
                            format!("{} #{} · paid another donor's refund", entry_time(&step.at), step.index)
                        }
                    };
                    (text, Some(step.index), false)
                }
                End::Remaining { project_id } => {
                    let name = project_name(names, project_id);
                    let text = match lang {
                        Lang::Zh => format!("尚在「{name}」基金中"),
                        Lang::En => format!("still in the fund “{name}”"),
                    };
                    (text, None, true)
                }
            };
            FlowRow {
                amount: yuan(f.amount_fen),
                moves: f.moves.iter().map(|s| move_text(lang, s, names)).collect(),
                end,
                end_index,
                remaining,
                relief_href: String::new(),
                relief_label: String::new(),
            }
        })
        .collect()
}

/// Where the gift at ledger entry `index` went, by the FIFO rule of
/// `boai_ledger::trace`, computed from the public entries covered by the
/// newest signed checkpoint (anyone can recompute it from the entry bundles).
#[utoipa::path(get, path = "/api/v1/ledger/trace/{index}", tag = "ledger",
    params(("index" = u64, Path, description = "0-based ledger index of a gift or goods_in entry")),
    responses((status = 200, description = "the gift's entry, its asset (money or goods) and its flows: amount_fen, the moves it went through and where it ended (spent with the recipient pseudonym, refunded, or remaining in a fund); `relief_cases`: the relief cases its outflows paid (pseudonym, programme, district, amount, ledger_index)", content_type = "application/json"),
        (status = 404, description = "no such entry, or it is not a gift"),
        (status = 429, description = "too many look-ups from this client")))]
pub async fn trace(
    State(state): State<AppState>,
    RawParts(parts): RawParts,
    ApiPath(index): ApiPath<u64>,
) -> Result<Response, ApiError> {
    // It reads the whole log: limited per client like the find page.
    state
        .lookup_limiter
        .check(client_ip(&parts).as_deref())
        .map_err(|secs| ApiError::TooManyRequests { retry_after_secs: secs })?;
    let signed = state.store.ledger_sign(&state.ledger_signer).await?;
    if index >= signed.size {
        return Err(ApiError::NotFound);
    }
    let entries = state.store.ledger_entries_parsed(signed.size).await?;
    let trace = trace_gift(&entries, index).map_err(|_| ApiError::NotFound)?;
    // The relief cases its outflows paid (pseudonym and programme only).
    let spent: Vec<i64> = trace
        .flows
        .iter()
        .filter_map(|f| match &f.end {
            End::Spent { step } => i64::try_from(step.index).ok(),
            _ => None,
        })
        .collect();
    let mut cases: Vec<_> = state.store.relief_cases_at(&spent).await?.into_values().collect();
    cases.sort_by_key(|c| c.ledger_index);
    let mut body = serde_json::to_value(&trace).map_err(|e| ApiError::Internal(e.to_string()))?;
    if let Some(obj) = body.as_object_mut() {
        obj.insert(
            "relief_cases".to_owned(),
            serde_json::to_value(&cases).map_err(|e| ApiError::Internal(e.to_string()))?,
        );
    }
    Ok((
        [(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"))],
        Json(body),
    )
        .into_response())
}

// ---------------------------------------------------------------- how-to

#[derive(Template)]
#[template(path = "portal_verify.html")]
struct VerifyPage {
    layout: Layout,
    base: String,
    origin: String,
}

/// `/transparency/verify`: how to check the ledger yourself.
pub async fn verify(
    State(state): State<AppState>,
    RawParts(parts): RawParts,
    MaybeCaller(caller): MaybeCaller,
) -> Response {
    let lang = Lang::from_parts(&parts);
    render(&VerifyPage {
        layout: Layout::new(lang, t(lang, "portal.verify"), "/transparency/verify", caller.as_ref()),
        base: state.config.public_url.trim_end_matches('/').to_owned(),
        origin: state.ledger_signer.origin().to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twelve_months_end_with_this_one() {
        let months = last_12_months(NaiveDate::from_ymd_opt(2026, 3, 15).unwrap_or_default());
        assert_eq!(months.len(), 12);
        assert_eq!(months.first().map(String::as_str), Some("2025-04"));
        assert_eq!(months.last().map(String::as_str), Some("2026-03"));
    }
}
