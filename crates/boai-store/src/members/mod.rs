//! Members and dues, and the councils of the city and the branches.
//!
//! Rules (see `boai_domain::members` for the dues arithmetic):
//! - A member belongs to a grassroots unit; every read filters by the actor's
//!   subtree, every write checks the unit (or the member's unit) against it.
//! - 身份证 numbers and phones are stored as the donors' are: AES-GCM
//!   ciphertext, a keyed hash to search by, a masked form to show. The full
//!   number is never returned, logged or audited.
//! - A payment's receipt number is unique and a member pays a year once; a
//!   refused payment changes nothing. Reminders go to an outbox table, one
//!   per member in arrears and year of sending (sending twice adds nothing).
//!   Lapsing marks active members with too many unpaid completed years.
//! - Every change is audited in its transaction; bulk changes with
//!   `append_many`.

use crate::audit::{append, append_many, AuditChange};
use crate::entities::{
    app_meta, council_meetings, council_members, dues_payments, dues_rates, member_reminders, member_types, members,
    orgs,
};
use crate::idempotency::Responder;
use crate::import::{ImportMode, ImportReport, ImportRowReport};
use crate::insert::insert_chunked;
use crate::orgs::to_org;
use crate::{Page, ScopedStore, Store, StoreError, StoreResult};
use boai_domain::accounts::Permission;
use boai_domain::audit::AuditAction;
use boai_domain::clock::china_date;
use boai_domain::ids::OrgId;
use boai_domain::members::{
    CouncilBody, CouncilMemberForCreate, CouncilMemberId, DuesRates, DuesStanding, DuesSummary, MeetingForCreate,
    MeetingId, MemberForCreate, MemberId, MemberImportRow, MemberKind, MemberStatus, MemberType, PaymentForCreate,
    DEFAULT_LAPSE_AFTER,
};
use boai_domain::money::Fen;
use boai_domain::orgs::{Org, OrgLevel};
use boai_domain::transparency::Attachment;
use boai_domain::validation::FieldErrors;
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use sea_orm::{ActiveValue::Set, ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

mod councils;
mod dues;
mod import;
mod records;
mod settings;

pub(crate) use councils::meeting_row;

crate::scoped::org_owned!(
    members,
    dues_payments,
    member_reminders,
    council_members,
    council_meetings
);

/// A search `q` of this prefix and a keyed hash finds a member by ID number.
pub const ID_TOKEN_PREFIX: &str = "idh:";

/// The `app_meta` key of the lapse rule (unpaid completed years).
pub const LAPSE_AFTER_KEY: &str = "members_lapse_after";

fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

fn field_error(field: &str, message: impl Into<String>) -> StoreError {
    let mut errors = FieldErrors::new();
    errors.add(field, message);
    errors.into()
}

/// A member as staff see it: identity numbers masked, dues standing computed.
#[derive(Debug, Clone, Serialize)]
pub struct Member {
    pub id: MemberId,
    pub member_no: String,
    pub kind: MemberKind,
    pub type_code: String,
    pub type_name: String,
    pub name: String,
    pub id_card_masked: Option<String>,
    pub credit_code: Option<String>,
    pub phone_masked: Option<String>,
    pub joined_on: NaiveDate,
    pub status: MemberStatus,
    pub lapsed_on: Option<NaiveDate>,
    pub unit_id: OrgId,
    pub unit_code: String,
    pub unit_name: String,
    pub branch_id: Option<OrgId>,
    pub branch_name: Option<String>,
    /// Due years without a payment, oldest first.
    pub arrears_years: Vec<i32>,
    pub arrears_fen: i64,
}

/// One dues payment.
#[derive(Debug, Clone, Serialize)]
pub struct Payment {
    pub id: Uuid,
    pub member_id: MemberId,
    pub year: i32,
    pub amount_fen: i64,
    pub receipt_no: String,
    pub paid_on: NaiveDate,
    pub recorded_by: String,
    pub created_at: DateTime<Utc>,
}

/// A member with their payments.
#[derive(Debug, Clone, Serialize)]
pub struct MemberView {
    pub member: Member,
    pub payments: Vec<Payment>,
}

/// Filters of the member lists.
#[derive(Debug, Clone, Default)]
pub struct MemberFilter {
    /// Name (contains), member number, or a full ID number (by keyed hash).
    pub q: Option<String>,
    pub unit_id: Option<OrgId>,
    pub branch_id: Option<OrgId>,
    pub type_code: Option<String>,
    pub status: Option<MemberStatus>,
    /// Only members with a year in arrears.
    pub arrears_only: bool,
}

/// A reminder in the outbox.
#[derive(Debug, Clone, Serialize)]
pub struct Reminder {
    pub id: Uuid,
    pub member_id: MemberId,
    pub member_name: String,
    pub member_no: String,
    pub year: i32,
    pub amount_fen: i64,
    pub message: String,
    pub status: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

/// Dues settings: types, rates by year, the lapse rule.
#[derive(Debug, Clone, Serialize)]
pub struct DuesSettings {
    pub types: Vec<MemberType>,
    /// (type code, year, amount in fen), by year then type.
    pub rates: Vec<(String, i32, i64)>,
    pub lapse_after: u32,
}

/// One council member.
#[derive(Debug, Clone, Serialize)]
pub struct CouncilMember {
    pub id: CouncilMemberId,
    pub org_id: OrgId,
    pub body: CouncilBody,
    pub person_name: String,
    pub role: String,
    pub term_no: i32,
    pub term_start: NaiveDate,
    pub term_end: NaiveDate,
}

/// One council meeting (the minutes' bytes are fetched apart).
#[derive(Debug, Clone, Serialize)]
pub struct Meeting {
    pub id: MeetingId,
    pub org_id: OrgId,
    pub body: CouncilBody,
    pub held_on: NaiveDate,
    pub title: String,
    pub minutes_name: Option<String>,
    pub created_by: String,
}

/// The councils of one organisation.
#[derive(Debug, Clone, Serialize)]
pub struct CouncilView {
    pub org: Org,
    pub members: Vec<CouncilMember>,
    pub meetings: Vec<Meeting>,
}

/// A meeting's minutes.
#[derive(Debug, Clone)]
pub struct MinutesFile {
    pub name: String,
    pub mime: String,
    pub bytes: Vec<u8>,
}

/// The rows of a member import: (file row, name, parsed row or its problems).
pub type MemberImportRows = Vec<(usize, String, Result<MemberImportRow, Vec<String>>)>;

fn to_type(m: member_types::Model) -> StoreResult<MemberType> {
    Ok(MemberType {
        kind: MemberKind::parse(&m.kind).ok_or_else(|| corrupt(format!("member kind {}", m.kind)))?,
        code: m.code,
        name_zh: m.name_zh,
    })
}

fn to_payment(m: dues_payments::Model) -> Payment {
    Payment {
        id: m.id,
        member_id: MemberId(m.member_id),
        year: m.year,
        amount_fen: m.amount_fen,
        receipt_no: m.receipt_no,
        paid_on: m.paid_on,
        recorded_by: m.recorded_by,
        created_at: m.created_at,
    }
}

fn to_council_member(m: council_members::Model) -> StoreResult<CouncilMember> {
    Ok(CouncilMember {
        id: CouncilMemberId(m.id),
        org_id: OrgId(m.org_id),
        body: CouncilBody::parse(&m.body).ok_or_else(|| corrupt(format!("council body {}", m.body)))?,
        person_name: m.person_name,
        role: m.role,
        term_no: m.term_no,
        term_start: m.term_start,
        term_end: m.term_end,
    })
}

fn standing(m: &members::Model) -> StoreResult<DuesStanding<'_>> {
    Ok(DuesStanding {
        type_code: &m.type_code,
        joined_on: m.joined_on,
        status: MemberStatus::parse(&m.status).ok_or_else(|| corrupt(format!("member status {}", m.status)))?,
        lapsed_on: m.lapsed_on,
    })
}

/// The audit form of a member: never the full ID number or phone.
fn member_audit(m: &members::Model) -> serde_json::Value {
    serde_json::json!({
        "member_no": m.member_no, "name": m.name, "kind": m.kind, "type_code": m.type_code,
        "id_card_masked": m.id_card_masked, "credit_code": m.credit_code, "phone_masked": m.phone_masked,
        "joined_on": m.joined_on, "status": m.status, "org_id": m.org_id,
    })
}

/// Builds a member's row: identity numbers encrypted, hashed and masked.
pub(crate) fn member_row(
    secrets: &crate::secrets::Secrets,
    id: MemberId,
    unit: OrgId,
    member_no: String,
    input: &MemberForCreate,
    now: DateTime<Utc>,
) -> members::Model {
    members::Model {
        id: id.0,
        org_id: unit.0,
        member_no,
        kind: input.member_type.kind.as_str().to_owned(),
        type_code: input.member_type.code.clone(),
        name: input.name.clone(),
        id_card_enc: input.id_card.as_ref().map(|c| secrets.encrypt(c.as_str())),
        id_card_hash: input.id_card.as_ref().map(|c| secrets.keyed_hash(c.as_str())),
        id_card_masked: input.id_card.as_ref().map(|c| c.masked()),
        credit_code: input.credit_code.as_ref().map(|c| c.as_str().to_owned()),
        phone_enc: input.phone.as_ref().map(|p| secrets.encrypt(p)),
        phone_masked: input.phone.as_ref().map(|p| boai_domain::privacy::mask::phone(p)),
        joined_on: input.joined_on,
        status: MemberStatus::Active.as_str().to_owned(),
        lapsed_on: None,
        created_at: now,
        updated_at: now,
    }
}

pub(crate) fn active_model(m: members::Model) -> members::ActiveModel {
    members::ActiveModel {
        id: Set(m.id),
        org_id: Set(m.org_id),
        member_no: Set(m.member_no),
        kind: Set(m.kind),
        type_code: Set(m.type_code),
        name: Set(m.name),
        id_card_enc: Set(m.id_card_enc),
        id_card_hash: Set(m.id_card_hash),
        id_card_masked: Set(m.id_card_masked),
        credit_code: Set(m.credit_code),
        phone_enc: Set(m.phone_enc),
        phone_masked: Set(m.phone_masked),
        joined_on: Set(m.joined_on),
        status: Set(m.status),
        lapsed_on: Set(m.lapsed_on),
        created_at: Set(m.created_at),
        updated_at: Set(m.updated_at),
    }
}

/// The next free member number of a unit: `<unit code>-0001`, …
fn next_member_no(unit_code: &str, taken: &mut HashSet<String>, n: &mut u64) -> String {
    loop {
        let candidate = format!("{unit_code}-{:04}", *n);
        *n += 1;
        if taken.insert(candidate.clone()) {
            return candidate;
        }
    }
}

impl Store {
    /// The city's member types, in order.
    pub async fn member_types(&self) -> StoreResult<Vec<MemberType>> {
        member_types::Entity::find()
            .filter(member_types::Column::Active.eq(true))
            .order_by_asc(member_types::Column::Position)
            .all(&self.read)
            .await?
            .into_iter()
            .map(to_type)
            .collect()
    }

    /// Every dues rate.
    pub async fn dues_rates(&self) -> StoreResult<DuesRates> {
        Ok(DuesRates(
            dues_rates::Entity::find()
                .all(&self.read)
                .await?
                .into_iter()
                .map(|r| ((r.type_code, r.year), Fen(r.amount_fen)))
                .collect(),
        ))
    }

    /// Unpaid completed years after which members lapse.
    pub async fn members_lapse_after(&self) -> StoreResult<u32> {
        let row = app_meta::Entity::find_by_id(LAPSE_AFTER_KEY.to_owned())
            .one(&self.read)
            .await?;
        Ok(row.and_then(|r| r.value.parse().ok()).unwrap_or(DEFAULT_LAPSE_AFTER))
    }

    /// The year dues are counted in now (China time).
    pub fn dues_year(&self) -> i32 {
        china_date(self.now()).year()
    }
}
