//! Humanitarian relief (人道救助) on the web. Public: the online
//! application form for phones (`/relief/apply`: no sign-in, rate-limited
//! per client, CSRF by double-submit cookie, attachments checked by type
//! and size), the status look-up by case number and lookup code, and the
//! public page of a paid case (`/relief/aided/{ledger_index}`, no personal
//! data). Staff (scoped): programmes with their figures and charts, the rule
//! form (one row per condition), case lists (overdue flagged), the case page
//! (review, payment, the journal and ledger entry it drew on), filing on
//! behalf of a person, and the bank's payment file (.xlsx). JSON API under
//! `/api/v1/relief/…`.

pub mod api;
pub mod pages;

use crate::auth::csrf::{same, UploadedFile};
use crate::{ApiError, AppState, PageError};
use axum::extract::{FromRequest, Request};
use boai_domain::relief::{ApplicationInput, Settings};
use boai_domain::transparency::FileInput;

/// Body limit of the routes that take attachments (several files of 5 MB).
pub const UPLOAD_BODY_LIMIT: usize = 24 * 1024 * 1024;

/// The double-submit cookie of the public application form.
pub const APPLY_CSRF_COOKIE: &str = "boai_relief_csrf";

/// The relief routes.
pub fn routes() -> Vec<crate::routes::Route> {
    use crate::routes::{
        get, post, put,
        Access::{Needs, Public},
    };
    use boai_domain::accounts::Permission as P;
    vec![
        get("/relief", Needs(P::ViewRelief), pages::index),
        get("/relief/apply", Public, pages::apply_form),
        post("/relief/apply", Public, pages::apply_submit).body_limit(UPLOAD_BODY_LIMIT),
        get("/relief/status", Public, pages::status_form),
        post("/relief/status", Public, pages::status_submit),
        get("/relief/aided/{index}", Public, pages::aided),
        get("/relief/new", Needs(P::HandleRelief), pages::new_form),
        post("/relief/new", Needs(P::HandleRelief), pages::new_submit).body_limit(UPLOAD_BODY_LIMIT),
        get("/relief/cases", Needs(P::ViewRelief), pages::cases),
        get("/relief/cases/{id}", Needs(P::ViewRelief), pages::case),
        post("/relief/cases/{id}/review", Needs(P::HandleRelief), pages::review),
        post("/relief/cases/{id}/resubmit", Needs(P::HandleRelief), pages::resubmit),
        post("/relief/cases/{id}/pay", Needs(P::ManageFunds), pages::pay),
        get(
            "/relief/cases/{id}/files/{file}",
            Needs(P::ViewRelief),
            pages::attachment,
        ),
        get("/relief/programmes/{id}", Needs(P::ViewRelief), pages::programme),
        post(
            "/relief/programmes/{id}",
            Needs(P::ManageProjects),
            pages::programme_rule,
        ),
        get("/relief/payments.xlsx", Needs(P::ManageFunds), pages::payment_file),
        get("/api/v1/relief/programmes", Needs(P::ViewRelief), api::programmes),
        put(
            "/api/v1/relief/programmes/{id}",
            Needs(P::ManageProjects),
            api::programme_update,
        ),
        get("/api/v1/relief/cases", Needs(P::ViewRelief), api::cases),
        post("/api/v1/relief/cases", Needs(P::HandleRelief), api::create).body_limit(UPLOAD_BODY_LIMIT),
        get("/api/v1/relief/cases/{id}", Needs(P::ViewRelief), api::case),
        post("/api/v1/relief/cases/{id}/reviews", Needs(P::HandleRelief), api::review),
        post(
            "/api/v1/relief/cases/{id}/resubmit",
            Needs(P::HandleRelief),
            api::resubmit,
        ),
        post("/api/v1/relief/payments", Needs(P::ManageFunds), api::pay),
        get("/api/v1/relief/stats", Needs(P::ViewRelief), api::stats),
        post("/api/v1/relief/status", Public, api::status),
        get("/api/v1/relief/aided/{index}", Public, api::aided),
    ]
}

/// The applicant's fields as a form sends them.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ApplyForm {
    pub programme_id: String,
    pub unit_id: String,
    pub applicant_name: String,
    pub id_card: String,
    pub phone: String,
    pub district: String,
    pub household_size: String,
    pub household_income: String,
    pub hardship: String,
    pub diagnosis: String,
    pub hospital: String,
    pub bank_name: String,
    pub bank_account: String,
    pub amount: String,
    /// The consent version ticked (the checkbox's value), empty if not ticked.
    pub health_consent: String,
}

impl ApplyForm {
    fn from_fields(fields: &std::collections::HashMap<String, String>) -> ApplyForm {
        let f = |k: &str| fields.get(k).cloned().unwrap_or_default();
        ApplyForm {
            programme_id: f("programme_id"),
            unit_id: f("unit_id"),
            applicant_name: f("applicant_name"),
            id_card: f("id_card"),
            phone: f("phone"),
            district: f("district"),
            household_size: f("household_size"),
            household_income: f("household_income"),
            hardship: f("hardship"),
            diagnosis: f("diagnosis"),
            hospital: f("hospital"),
            bank_name: f("bank_name"),
            bank_account: f("bank_account"),
            amount: f("amount"),
            health_consent: f("health_consent"),
        }
    }

    /// The domain's input, with the files sent as `doc_0`, `doc_1`, …
    fn input(&self, settings: &Settings, files: &[UploadedFile]) -> ApplicationInput {
        let some = |s: &str| Some(s.to_owned());
        ApplicationInput {
            applicant_name: some(&self.applicant_name),
            id_card: some(&self.id_card),
            phone: some(&self.phone),
            district: some(&self.district),
            household_size: some(&self.household_size),
            household_income: some(&self.household_income),
            hardship: some(&self.hardship),
            diagnosis: some(&self.diagnosis),
            hospital: some(&self.hospital),
            bank_name: some(&self.bank_name),
            bank_account: some(&self.bank_account),
            amount: some(&self.amount),
            documents: (0..settings.documents.len())
                .map(|i| {
                    files.iter().find(|f| f.field == format!("doc_{i}")).map(|f| FileInput {
                        name: f.file_name.clone(),
                        bytes: f.bytes.clone(),
                    })
                })
                .collect(),
            health_consent: Some(self.health_consent.clone()).filter(|v| !v.is_empty()),
        }
    }
}

/// A multipart form from the public (no session), its `csrf` field checked
/// against the double-submit cookie set with the form.
#[derive(Debug, Default)]
pub struct PublicMultipart {
    pub fields: std::collections::HashMap<String, String>,
    pub files: Vec<UploadedFile>,
}

fn multipart_error(e: axum::extract::multipart::MultipartError) -> ApiError {
    if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::PayloadTooLarge
    } else {
        ApiError::BadRequest(e.body_text())
    }
}

impl FromRequest<AppState> for PublicMultipart {
    type Rejection = PageError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (parts, body) = req.into_parts();
        // Limited per client before the body is read.
        state
            .lookup_limiter
            .check(crate::auth::client_ip(&parts).as_deref())
            .map_err(|secs| ApiError::TooManyRequests { retry_after_secs: secs })?;
        let cookie = crate::auth::cookie(&parts, APPLY_CSRF_COOKIE);
        let mut multipart = axum::extract::Multipart::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(|e| ApiError::BadRequest(e.body_text()))?;
        let mut form = PublicMultipart::default();
        while let Some(field) = multipart.next_field().await.map_err(multipart_error)? {
            let name = field.name().unwrap_or_default().to_owned();
            match field.file_name().map(str::to_owned) {
                Some(file_name) => {
                    let bytes = field.bytes().await.map_err(multipart_error)?;
                    if !(file_name.is_empty() && bytes.is_empty()) {
                        form.files.push(UploadedFile {
                            field: name,
                            file_name,
                            bytes: bytes.to_vec(),
                        });
                    }
                }
                None => {
                    let text = field.text().await.map_err(multipart_error)?;
                    form.fields.entry(name).or_insert(text);
                }
            }
        }
        let sent = form.fields.get("csrf").map(String::as_str);
        let ok = match (cookie.as_deref(), sent) {
            (Some(c), Some(s)) => !c.is_empty() && same(c, s),
            _ => false,
        };
        if !ok {
            return Err(ApiError::Forbidden("表单已过期或来源不明 (CSRF 校验失败), 请刷新页面后重试").into());
        }
        Ok(form)
    }
}
