//! Relief pages: the public application form (phone first) and its answer,
//! the status look-up, a paid case's public page; the staff overview with
//! figures and charts, case list, case page (review, payment, the entry it
//! drew on), programme page (figures by district and month, rule form),
//! filing on behalf of a person, the bank's payment file.

use super::{ApplyForm, PublicMultipart, APPLY_CSRF_COOKIE};
use crate::auth::csrf::{CsrfForm, CsrfMultipart};
use crate::auth::pages::RawParts;
use crate::auth::{new_secret, HandleRelief, ManageFunds, MaybeCaller, PageUser, ViewRelief};
use crate::components::chart::{Bar, BarChart, LineChart};
use crate::components::export::{Cell, Sheet};
use crate::components::list::xlsx_download;
use crate::pages::{lang_of, render, Layout};
use crate::{ApiError, AppState, PageError};
use askama::Template;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use boai_domain::accounts::Permission;
use boai_domain::ids::OrgId;
use boai_domain::money::Fen;
use boai_domain::relief::review::{level_label, CaseStatus, Decision};
use boai_domain::relief::rules::{Combine, Condition, Field, Rule};
use boai_domain::relief::{CaseId, Figures, ProgrammeId, Tally, HARDSHIP};
use boai_domain::validation::FieldErrors;
use boai_store::relief::{Case, CaseDetail, CaseFilter, CaseStatusView, Programme, PublicCase, ReviewInput};
use boai_store::{Page, StoreError};
use serde::Deserialize;
use std::collections::HashMap;

mod apply;
mod bank;
mod case;
mod lookups;
mod overview;
mod programme;

pub use apply::{apply_form, apply_submit, new_form, new_submit};
pub use bank::payment_file;
pub use case::{attachment, case, pay, resubmit, review};
pub use lookups::{aided, status_form, status_submit};
pub use overview::{cases, index};
pub use programme::{programme, programme_rule};

fn yuan(f: i64) -> String {
    Fen(f).display_yuan()
}

fn china_time(at: chrono::DateTime<chrono::Utc>) -> String {
    chrono::FixedOffset::east_opt(8 * 3600)
        .map(|tz| at.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default()
}
