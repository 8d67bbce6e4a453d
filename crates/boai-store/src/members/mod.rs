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
use crate::fundraising::china_date;
use crate::idempotency::Responder;
use crate::network::{insert_chunked, ImportMode, ImportReport, ImportRowReport};
use crate::orgs::to_org;
use crate::scoped::OrgOwned;
use crate::{Page, ScopedStore, Store, StoreError, StoreResult};
use boai_domain::accounts::Permission;
use boai_domain::audit::AuditAction;
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

impl OrgOwned for members::Entity {
    fn org_column() -> Self::Column {
        members::Column::OrgId
    }
}

impl OrgOwned for dues_payments::Entity {
    fn org_column() -> Self::Column {
        dues_payments::Column::OrgId
    }
}

impl OrgOwned for member_reminders::Entity {
    fn org_column() -> Self::Column {
        member_reminders::Column::OrgId
    }
}

impl OrgOwned for council_members::Entity {
    fn org_column() -> Self::Column {
        council_members::Column::OrgId
    }
}

impl OrgOwned for council_meetings::Entity {
    fn org_column() -> Self::Column {
        council_meetings::Column::OrgId
    }
}

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

impl ScopedStore {
    /// Today in China time (the default date of forms).
    pub fn today(&self) -> NaiveDate {
        china_date(self.store.now())
    }

    /// The year dues are counted in now.
    pub fn dues_year(&self) -> i32 {
        self.store.dues_year()
    }

    /// When `q` is a full ID number: a token that searches for it by keyed
    /// hash (for links and forms, which must not carry the number) and its
    /// masked form. Any other `q` gives `None`.
    pub fn id_search_token(&self, q: &str) -> Option<(String, String)> {
        let id = boai_domain::validation::identity::IdCardNo::parse(q.trim()).ok()?;
        Some((
            format!("{ID_TOKEN_PREFIX}{}", self.store.secrets.keyed_hash(id.as_str())),
            id.masked(),
        ))
    }

    /// A grassroots unit in scope by its code.
    pub async fn unit_by_code(&self, code: &str) -> StoreResult<Option<OrgId>> {
        if code.is_empty() {
            return Ok(None);
        }
        Ok(self
            .select::<orgs::Entity>()
            .filter(orgs::Column::Level.eq(OrgLevel::Unit.as_str()))
            .filter(orgs::Column::Code.eq(code.to_uppercase()))
            .one(&self.store.read)
            .await?
            .map(|o| OrgId(o.id)))
    }

    /// Types, rates and the lapse rule (readable by whoever sees members).
    pub async fn dues_settings(&self) -> StoreResult<DuesSettings> {
        self.actor.require(Permission::ViewMembers)?;
        let mut rates: Vec<(String, i32, i64)> = self
            .store
            .dues_rates()
            .await?
            .0
            .into_iter()
            .map(|((t, y), f)| (t, y, f.0))
            .collect();
        let types = self.store.member_types().await?;
        let pos = |code: &str| types.iter().position(|t| t.code == code).unwrap_or(usize::MAX);
        rates.sort_by(|a, b| b.1.cmp(&a.1).then(pos(&a.0).cmp(&pos(&b.0))));
        Ok(DuesSettings {
            types,
            rates,
            lapse_after: self.store.members_lapse_after().await?,
        })
    }

    /// Sets the dues of a member type for a year (city settings).
    pub async fn dues_set_rate(&self, type_code: &str, year: i32, amount: Fen) -> StoreResult<()> {
        self.actor.require(Permission::ManageDues)?;
        let mut errors = FieldErrors::new();
        if !(2000..=2100).contains(&year) {
            errors.add("year", "年度应在 2000–2100 之间");
        }
        if amount.0 < 0 || amount.0 > 100_000_000 {
            errors.add("amount", "会费金额应在 0 至 100 万元之间");
        }
        if !errors.is_empty() {
            return Err(errors.into());
        }
        let txn = self.store.begin_write().await?;
        if member_types::Entity::find_by_id(type_code.to_owned())
            .one(&txn)
            .await?
            .is_none()
        {
            return Err(field_error("type_code", "会员类型不存在"));
        }
        let before = dues_rates::Entity::find_by_id((type_code.to_owned(), year))
            .one(&txn)
            .await?;
        let now = self.store.now();
        let row = dues_rates::ActiveModel {
            type_code: Set(type_code.to_owned()),
            year: Set(year),
            amount_fen: Set(amount.0),
            updated_at: Set(now),
        };
        if before.is_some() {
            dues_rates::Entity::update(row).exec(&txn).await?;
        } else {
            dues_rates::Entity::insert(row).exec_without_returning(&txn).await?;
        }
        append(
            &txn,
            &self.actor,
            now,
            AuditChange {
                action: if before.is_some() {
                    AuditAction::Update
                } else {
                    AuditAction::Create
                },
                entity: "dues_rate",
                entity_id: format!("{type_code}/{year}"),
                org_id: self.actor.org_id,
                before: before.map(|b| serde_json::json!({"amount_fen": b.amount_fen})),
                after: Some(serde_json::json!({"type_code": type_code, "year": year, "amount_fen": amount.0})),
            },
        )
        .await?;
        txn.commit().await?;
        Ok(())
    }

    /// Sets after how many unpaid completed years members lapse (1–10).
    pub async fn members_set_lapse_after(&self, n: u32) -> StoreResult<()> {
        self.actor.require(Permission::ManageDues)?;
        if !(1..=10).contains(&n) {
            return Err(field_error("lapse_after", "失效年限应为 1–10 年"));
        }
        let txn = self.store.begin_write().await?;
        let before = app_meta::Entity::find_by_id(LAPSE_AFTER_KEY.to_owned())
            .one(&txn)
            .await?;
        let row = app_meta::ActiveModel {
            key: Set(LAPSE_AFTER_KEY.to_owned()),
            value: Set(n.to_string()),
        };
        if before.is_some() {
            app_meta::Entity::update(row).exec(&txn).await?;
        } else {
            app_meta::Entity::insert(row).exec_without_returning(&txn).await?;
        }
        append(
            &txn,
            &self.actor,
            self.store.now(),
            AuditChange {
                action: AuditAction::Update,
                entity: "setting",
                entity_id: LAPSE_AFTER_KEY.to_owned(),
                org_id: self.actor.org_id,
                before: before.map(|b| serde_json::Value::String(b.value)),
                after: Some(serde_json::Value::String(n.to_string())),
            },
        )
        .await?;
        txn.commit().await?;
        Ok(())
    }

    /// Units and branches in scope: id → (code, name, parent).
    async fn unit_names(&self) -> StoreResult<HashMap<Uuid, (String, String, Option<Uuid>)>> {
        Ok(self
            .select::<orgs::Entity>()
            .filter(orgs::Column::Level.is_in([OrgLevel::Unit.as_str(), OrgLevel::District.as_str()]))
            .all(&self.store.read)
            .await?
            .into_iter()
            .map(|o| (o.id, (o.code, o.name, o.parent_id)))
            .collect())
    }

    /// The member rows in scope matching the filter's SQL parts.
    async fn member_rows(&self, filter: &MemberFilter) -> StoreResult<Vec<members::Model>> {
        let mut query = self.select::<members::Entity>();
        if let Some(unit) = filter.unit_id {
            query = query.filter(members::Column::OrgId.eq(unit.0));
        }
        if let Some(branch) = filter.branch_id {
            query = query.filter(self.in_branch::<members::Entity>(branch).await?);
        }
        if let Some(t) = filter.type_code.as_deref().filter(|t| !t.is_empty()) {
            query = query.filter(members::Column::TypeCode.eq(t));
        }
        if let Some(s) = filter.status {
            query = query.filter(members::Column::Status.eq(s.as_str()));
        }
        if let Some(hash) = filter.q.as_deref().and_then(|q| q.trim().strip_prefix(ID_TOKEN_PREFIX)) {
            query = query.filter(members::Column::IdCardHash.eq(hash));
        } else if let Some(q) = filter.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
            let mut any = Condition::any()
                .add(members::Column::Name.contains(q))
                .add(members::Column::MemberNo.eq(q.to_uppercase()));
            if let Ok(id) = boai_domain::validation::identity::IdCardNo::parse(q) {
                any = any.add(members::Column::IdCardHash.eq(self.store.secrets.keyed_hash(id.as_str())));
            }
            query = query.filter(any);
        }
        Ok(query
            .order_by_asc(members::Column::MemberNo)
            .all(&self.store.read)
            .await?)
    }

    /// Paid years of the given members.
    async fn paid_years(&self, ids: Option<&[Uuid]>) -> StoreResult<HashMap<Uuid, HashSet<i32>>> {
        let mut query = self
            .select::<dues_payments::Entity>()
            .select_only()
            .column(dues_payments::Column::MemberId)
            .column(dues_payments::Column::Year);
        if let Some(ids) = ids {
            if ids.len() <= 500 {
                query = query.filter(dues_payments::Column::MemberId.is_in(ids.to_vec()));
            }
        }
        let rows: Vec<(Uuid, i32)> = query.into_tuple().all(&self.store.read).await?;
        let mut out: HashMap<Uuid, HashSet<i32>> = HashMap::new();
        for (m, y) in rows {
            out.entry(m).or_default().insert(y);
        }
        Ok(out)
    }

    fn to_member(
        &self,
        m: members::Model,
        types: &[MemberType],
        names: &HashMap<Uuid, (String, String, Option<Uuid>)>,
        paid: &HashSet<i32>,
        rates: &DuesRates,
        year: i32,
    ) -> StoreResult<Member> {
        let s = standing(&m)?;
        let arrears_years = s.arrears(year, paid, rates);
        let arrears_fen = arrears_years.iter().filter_map(|y| s.due(*y, rates)).map(|f| f.0).sum();
        let status = s.status;
        let unit = names.get(&m.org_id);
        let branch_id = unit.and_then(|u| u.2);
        Ok(Member {
            id: MemberId(m.id),
            member_no: m.member_no,
            kind: MemberKind::parse(&m.kind).ok_or_else(|| corrupt(format!("member kind {}", m.kind)))?,
            type_name: types
                .iter()
                .find(|t| t.code == m.type_code)
                .map(|t| t.name_zh.clone())
                .unwrap_or_else(|| m.type_code.clone()),
            type_code: m.type_code,
            name: m.name,
            id_card_masked: m.id_card_masked,
            credit_code: m.credit_code,
            phone_masked: m.phone_masked,
            joined_on: m.joined_on,
            status,
            lapsed_on: m.lapsed_on,
            unit_id: OrgId(m.org_id),
            unit_code: unit.map(|u| u.0.clone()).unwrap_or_default(),
            unit_name: unit.map(|u| u.1.clone()).unwrap_or_default(),
            branch_id: branch_id.map(OrgId),
            branch_name: branch_id.and_then(|b| names.get(&b)).map(|b| b.1.clone()),
            arrears_years,
            arrears_fen,
        })
    }

    /// Members in scope matching the filter, by member number (all of them:
    /// callers page or export).
    pub async fn members_all(&self, filter: &MemberFilter) -> StoreResult<Vec<Member>> {
        self.actor.require(Permission::ViewMembers)?;
        let rows = self.member_rows(filter).await?;
        let ids: Vec<Uuid> = rows.iter().map(|m| m.id).collect();
        let paid = self.paid_years(Some(&ids)).await?;
        let types = self.store.member_types().await?;
        let rates = self.store.dues_rates().await?;
        let names = self.unit_names().await?;
        let year = self.store.dues_year();
        let empty = HashSet::new();
        let mut out = Vec::with_capacity(rows.len());
        for m in rows {
            let p = paid.get(&m.id).unwrap_or(&empty);
            let member = self.to_member(m, &types, &names, p, &rates, year)?;
            if filter.arrears_only && member.arrears_years.is_empty() {
                continue;
            }
            out.push(member);
        }
        Ok(out)
    }

    /// One page of [`ScopedStore::members_all`].
    pub async fn members_list(&self, filter: &MemberFilter, page: Page) -> StoreResult<(Vec<Member>, u64)> {
        let all = self.members_all(filter).await?;
        let total = all.len() as u64;
        let items = all
            .into_iter()
            .skip(usize::try_from(page.offset()).unwrap_or(usize::MAX))
            .take(usize::try_from(page.per_page).unwrap_or(100))
            .collect();
        Ok((items, total))
    }

    /// One member in scope with their payments.
    pub async fn member_get(&self, id: MemberId) -> StoreResult<MemberView> {
        self.actor.require(Permission::ViewMembers)?;
        let row = self
            .select::<members::Entity>()
            .filter(members::Column::Id.eq(id.0))
            .one(&self.store.read)
            .await?
            .ok_or(StoreError::NotFound)?;
        let payments: Vec<Payment> = dues_payments::Entity::find()
            .filter(dues_payments::Column::MemberId.eq(id.0))
            .order_by_desc(dues_payments::Column::Year)
            .all(&self.store.read)
            .await?
            .into_iter()
            .map(to_payment)
            .collect();
        let paid: HashSet<i32> = payments.iter().map(|p| p.year).collect();
        let types = self.store.member_types().await?;
        let rates = self.store.dues_rates().await?;
        let names = self.unit_names().await?;
        let member = self.to_member(row, &types, &names, &paid, &rates, self.store.dues_year())?;
        Ok(MemberView { member, payments })
    }

    /// Adds a member to a unit in scope. An ID number already on file is refused.
    pub async fn member_create(&self, unit: OrgId, input: MemberForCreate) -> StoreResult<MemberView> {
        self.actor.require(Permission::ManageMembers)?;
        let txn = self.store.begin_write().await?;
        let unit_org = match self.org_in_scope(&txn, unit).await? {
            Some(o) if o.level == OrgLevel::Unit.as_str() => o,
            _ => return Err(field_error("unit_id", "基层组织不存在或不在您的管辖范围内")),
        };
        if let Some(id) = &input.id_card {
            let dup = members::Entity::find()
                .filter(members::Column::IdCardHash.eq(self.store.secrets.keyed_hash(id.as_str())))
                .one(&txn)
                .await?;
            if dup.is_some() {
                return Err(field_error("id_card_no", "该身份证号码已登记为会员"));
            }
        }
        let mut taken: HashSet<String> = members::Entity::find()
            .filter(members::Column::OrgId.eq(unit.0))
            .select_only()
            .column(members::Column::MemberNo)
            .into_tuple::<String>()
            .all(&txn)
            .await?
            .into_iter()
            .collect();
        let mut n = taken.len() as u64 + 1;
        let member_no = next_member_no(&unit_org.code, &mut taken, &mut n);
        let now = self.store.now();
        let id = MemberId::new();
        let row = member_row(&self.store.secrets, id, unit, member_no, &input, now);
        let audit = member_audit(&row);
        members::Entity::insert(active_model(row))
            .exec_without_returning(&txn)
            .await?;
        append(
            &txn,
            &self.actor,
            now,
            AuditChange {
                action: AuditAction::Create,
                entity: "member",
                entity_id: id.to_string(),
                org_id: unit,
                before: None,
                after: Some(audit),
            },
        )
        .await?;
        txn.commit().await?;
        self.member_get(id).await
    }

    /// Records a dues payment. A receipt number already used, or a year
    /// already paid, is refused and nothing changes.
    pub async fn payment_record(
        &self,
        member: MemberId,
        input: PaymentForCreate,
        idempotency: Option<Responder<'_, Payment>>,
    ) -> StoreResult<Payment> {
        self.actor.require(Permission::ManageMembers)?;
        let txn = self.store.begin_write().await?;
        let row = match members::Entity::find_by_id(member.0).one(&txn).await? {
            Some(m) => m,
            None => return Err(StoreError::NotFound),
        };
        self.require_org(&txn, OrgId(row.org_id)).await?;
        let used = dues_payments::Entity::find()
            .filter(dues_payments::Column::ReceiptNo.eq(input.receipt_no.as_str()))
            .one(&txn)
            .await?;
        if used.is_some() {
            return Err(field_error(
                "receipt_no",
                format!("收据号 {} 已经登记过, 不能重复使用", input.receipt_no),
            ));
        }
        let paid = dues_payments::Entity::find()
            .filter(dues_payments::Column::MemberId.eq(member.0))
            .filter(dues_payments::Column::Year.eq(input.year))
            .one(&txn)
            .await?;
        if paid.is_some() {
            return Err(field_error("year", format!("该会员 {} 年度会费已缴", input.year)));
        }
        if input.year < row.joined_on.year() {
            return Err(field_error("year", "缴费年度早于入会年度"));
        }
        let now = self.store.now();
        let payment = dues_payments::Model {
            id: Uuid::now_v7(),
            member_id: member.0,
            org_id: row.org_id,
            year: input.year,
            amount_fen: input.amount.0,
            receipt_no: input.receipt_no.clone(),
            paid_on: input.paid_on,
            recorded_by: self.actor.username.clone(),
            created_at: now,
        };
        dues_payments::Entity::insert(dues_payments::ActiveModel {
            id: Set(payment.id),
            member_id: Set(payment.member_id),
            org_id: Set(payment.org_id),
            year: Set(payment.year),
            amount_fen: Set(payment.amount_fen),
            receipt_no: Set(payment.receipt_no.clone()),
            paid_on: Set(payment.paid_on),
            recorded_by: Set(payment.recorded_by.clone()),
            created_at: Set(now),
        })
        .exec_without_returning(&txn)
        .await?;
        let payment = to_payment(payment);
        if let Some((claim, render)) = idempotency {
            self.idempotency_record(&txn, claim, render(&payment)).await?;
        }
        append(
            &txn,
            &self.actor,
            now,
            AuditChange {
                action: AuditAction::Create,
                entity: "dues_payment",
                entity_id: payment.id.to_string(),
                org_id: OrgId(row.org_id),
                before: None,
                after: Some(serde_json::json!({
                    "member_id": member.to_string(), "member_no": row.member_no, "year": input.year,
                    "amount_fen": input.amount.0, "receipt_no": input.receipt_no, "paid_on": input.paid_on,
                })),
            },
        )
        .await?;
        txn.commit().await?;
        Ok(payment)
    }

    /// Writes one reminder per member in arrears (active members) into the
    /// outbox, for this year; members already reminded this year are skipped.
    /// Returns how many were written.
    pub async fn reminders_send(&self) -> StoreResult<usize> {
        self.actor.require(Permission::ManageMembers)?;
        let in_arrears = self
            .members_all(&MemberFilter {
                status: Some(MemberStatus::Active),
                arrears_only: true,
                ..MemberFilter::default()
            })
            .await?;
        let year = self.store.dues_year();
        let txn = self.store.begin_write().await?;
        let already: HashSet<Uuid> = self
            .select::<member_reminders::Entity>()
            .filter(member_reminders::Column::Year.eq(year))
            .select_only()
            .column(member_reminders::Column::MemberId)
            .into_tuple::<Uuid>()
            .all(&txn)
            .await?
            .into_iter()
            .collect();
        let now = self.store.now();
        let mut rows = Vec::new();
        let mut changes = Vec::new();
        for m in in_arrears.iter().filter(|m| !already.contains(&m.id.0)) {
            let id = Uuid::now_v7();
            let message = format!(
                "{} 您好: 您的红十字会会费 {} 年度尚未缴纳, 合计 {}。请到{}缴纳。",
                m.name,
                boai_domain::members::years_text(&m.arrears_years),
                Fen(m.arrears_fen).display_yuan(),
                m.unit_name
            );
            changes.push(AuditChange {
                action: AuditAction::Create,
                entity: "member_reminder",
                entity_id: id.to_string(),
                org_id: m.unit_id,
                before: None,
                after: Some(serde_json::json!({
                    "member_id": m.id.to_string(), "year": year, "arrears_years": m.arrears_years,
                    "amount_fen": m.arrears_fen,
                })),
            });
            rows.push(member_reminders::ActiveModel {
                id: Set(id),
                member_id: Set(m.id.0),
                org_id: Set(m.unit_id.0),
                year: Set(year),
                amount_fen: Set(m.arrears_fen),
                message: Set(message.chars().take(500).collect()),
                status: Set("pending".to_owned()),
                created_by: Set(self.actor.username.clone()),
                created_at: Set(now),
            });
        }
        let n = rows.len();
        insert_chunked(&txn, rows).await?;
        append_many(&txn, &self.actor, now, changes).await?;
        txn.commit().await?;
        Ok(n)
    }

    /// The outbox in scope, newest first.
    pub async fn reminders_list(&self, page: Page) -> StoreResult<(Vec<Reminder>, u64)> {
        self.actor.require(Permission::ViewMembers)?;
        use sea_orm::PaginatorTrait;
        let query = self.select::<member_reminders::Entity>();
        let total = query.clone().count(&self.store.read).await?;
        let rows = query
            .order_by_desc(member_reminders::Column::CreatedAt)
            .order_by_asc(member_reminders::Column::Id)
            .offset(page.offset())
            .limit(page.per_page)
            .all(&self.store.read)
            .await?;
        let ids: Vec<Uuid> = rows.iter().map(|r| r.member_id).collect();
        let names: HashMap<Uuid, (String, String)> = members::Entity::find()
            .filter(members::Column::Id.is_in(ids))
            .all(&self.store.read)
            .await?
            .into_iter()
            .map(|m| (m.id, (m.name, m.member_no)))
            .collect();
        Ok((
            rows.into_iter()
                .map(|r| {
                    let (member_name, member_no) = names.get(&r.member_id).cloned().unwrap_or_default();
                    Reminder {
                        id: r.id,
                        member_id: MemberId(r.member_id),
                        member_name,
                        member_no,
                        year: r.year,
                        amount_fen: r.amount_fen,
                        message: r.message,
                        status: r.status,
                        created_by: r.created_by,
                        created_at: r.created_at,
                    }
                })
                .collect(),
            total,
        ))
    }

    /// Marks as lapsed the active members in scope with at least the
    /// configured number of unpaid completed years. Returns how many.
    pub async fn members_lapse(&self) -> StoreResult<usize> {
        self.actor.require(Permission::ManageMembers)?;
        let lapse_after = self.store.members_lapse_after().await?;
        let rates = self.store.dues_rates().await?;
        let year = self.store.dues_year();
        let today = china_date(self.store.now());
        let txn = self.store.begin_write().await?;
        let rows = self
            .select::<members::Entity>()
            .filter(members::Column::Status.eq(MemberStatus::Active.as_str()))
            .all(&txn)
            .await?;
        let mut paid: HashMap<Uuid, HashSet<i32>> = HashMap::new();
        let pairs: Vec<(Uuid, i32)> = self
            .select::<dues_payments::Entity>()
            .select_only()
            .column(dues_payments::Column::MemberId)
            .column(dues_payments::Column::Year)
            .into_tuple()
            .all(&txn)
            .await?;
        for (m, y) in pairs {
            paid.entry(m).or_default().insert(y);
        }
        let empty = HashSet::new();
        let mut lapsing = Vec::new();
        for m in &rows {
            let p = paid.get(&m.id).unwrap_or(&empty);
            if standing(m)?.should_lapse(year, p, &rates, lapse_after) {
                lapsing.push(m);
            }
        }
        let now = self.store.now();
        let ids: Vec<Uuid> = lapsing.iter().map(|m| m.id).collect();
        for chunk in ids.chunks(500) {
            members::Entity::update_many()
                .col_expr(
                    members::Column::Status,
                    sea_orm::sea_query::Expr::value(MemberStatus::Lapsed.as_str()),
                )
                .col_expr(members::Column::LapsedOn, sea_orm::sea_query::Expr::value(today))
                .col_expr(members::Column::UpdatedAt, sea_orm::sea_query::Expr::value(now))
                .filter(members::Column::Id.is_in(chunk.to_vec()))
                .exec(&txn)
                .await?;
        }
        let changes = lapsing
            .iter()
            .map(|m| AuditChange {
                action: AuditAction::Update,
                entity: "member",
                entity_id: m.id.to_string(),
                org_id: OrgId(m.org_id),
                before: Some(serde_json::json!({"status": "active"})),
                after: Some(serde_json::json!({"status": "lapsed", "lapsed_on": today, "lapse_after": lapse_after})),
            })
            .collect();
        append_many(&txn, &self.actor, now, changes).await?;
        txn.commit().await?;
        Ok(ids.len())
    }

    /// Dues of `year` for the members in scope, or under `under` (an
    /// organisation in scope).
    pub async fn dues_summary(&self, year: i32, under: Option<OrgId>) -> StoreResult<DuesSummary> {
        let filter = MemberFilter {
            branch_id: under,
            ..MemberFilter::default()
        };
        self.actor.require(Permission::ViewMembers)?;
        let rows = self.member_rows(&filter).await?;
        let payments: Vec<(Uuid, i32, i64)> = self
            .select::<dues_payments::Entity>()
            .filter(dues_payments::Column::Year.eq(year))
            .select_only()
            .column(dues_payments::Column::MemberId)
            .column(dues_payments::Column::Year)
            .column(dues_payments::Column::AmountFen)
            .into_tuple()
            .all(&self.store.read)
            .await?;
        let in_group: HashSet<Uuid> = rows.iter().map(|m| m.id).collect();
        let paid: HashSet<Uuid> = payments.iter().map(|p| p.0).filter(|m| in_group.contains(m)).collect();
        let rates = self.store.dues_rates().await?;
        let mut s = DuesSummary {
            year,
            ..DuesSummary::default()
        };
        s.collected_fen = payments.iter().filter(|p| in_group.contains(&p.0)).map(|p| p.2).sum();
        for m in &rows {
            if let Some(due) = standing(m)?.due(year, &rates) {
                s.members_due += 1;
                s.expected_fen += due.0;
                if paid.contains(&m.id) {
                    s.members_paid += 1;
                }
            }
        }
        s.in_arrears = s.members_due - s.members_paid;
        Ok(s)
    }

    /// Imports members row by row (see the units import for the modes).
    pub async fn members_import(&self, rows: MemberImportRows, mode: ImportMode) -> StoreResult<ImportReport> {
        self.actor.require(Permission::ManageMembers)?;
        let txn = self.store.begin_write().await?;
        let units: HashMap<String, orgs::Model> = self
            .select::<orgs::Entity>()
            .filter(orgs::Column::Level.eq(OrgLevel::Unit.as_str()))
            .all(&txn)
            .await?
            .into_iter()
            .map(|o| (o.code.to_uppercase(), o))
            .collect();
        let known: HashSet<String> = members::Entity::find()
            .filter(members::Column::IdCardHash.is_not_null())
            .select_only()
            .column(members::Column::IdCardHash)
            .into_tuple::<Option<String>>()
            .all(&txn)
            .await?
            .into_iter()
            .flatten()
            .collect();
        let mut numbers: HashSet<String> = members::Entity::find()
            .select_only()
            .column(members::Column::MemberNo)
            .into_tuple::<String>()
            .all(&txn)
            .await?
            .into_iter()
            .collect();
        let mut next_n: HashMap<Uuid, u64> = HashMap::new();
        let mut seen: HashSet<String> = HashSet::new();
        let now = self.store.now();
        let mut report = Vec::with_capacity(rows.len());
        let mut new_rows = Vec::new();
        for (row, name, parsed) in rows {
            let mut problems = Vec::new();
            let mut planned = None;
            match parsed {
                Err(p) => problems = p,
                Ok(r) => {
                    let unit = units.get(&r.unit_code.to_uppercase());
                    if unit.is_none() {
                        problems.push(format!("所属基层组织不存在或不在管辖范围内: {}", r.unit_code));
                    }
                    if let Some(id) = &r.member.id_card {
                        let hash = self.store.secrets.keyed_hash(id.as_str());
                        if known.contains(&hash) {
                            problems.push(format!("重复: 身份证号码 {} 已登记为会员", id.masked()));
                        } else if !seen.insert(hash) {
                            problems.push(format!("重复: 身份证号码 {} 在文件中出现多次", id.masked()));
                        }
                    }
                    if let (Some(unit), true) = (unit, problems.is_empty()) {
                        planned = Some((unit.clone(), r.member));
                    }
                }
            }
            let mut entry = ImportRowReport {
                row,
                name,
                accepted: problems.is_empty(),
                problems,
                org_id: None,
                code: None,
            };
            if let Some((unit, member)) = planned {
                let n = next_n.entry(unit.id).or_insert(1);
                let member_no = next_member_no(&unit.code, &mut numbers, n);
                entry.org_id = Some(OrgId(unit.id));
                entry.code = Some(member_no.clone());
                new_rows.push(member_row(
                    &self.store.secrets,
                    MemberId::new(),
                    OrgId(unit.id),
                    member_no,
                    &member,
                    now,
                ));
            }
            report.push(entry);
        }
        let accepted = report.iter().filter(|r| r.accepted).count();
        let rejected = report.len() - accepted;
        let commit = match mode {
            ImportMode::AllOrNothing => rejected == 0 && accepted > 0,
            ImportMode::ValidRows => accepted > 0,
        };
        if !commit {
            for r in &mut report {
                r.org_id = None;
                r.code = None;
            }
            return Ok(ImportReport {
                mode,
                accepted,
                rejected,
                committed: false,
                rows: report,
            });
        }
        let changes = new_rows
            .iter()
            .map(|m| {
                let mut after = member_audit(m);
                if let Some(obj) = after.as_object_mut() {
                    obj.insert("imported".to_owned(), serde_json::Value::Bool(true));
                }
                AuditChange {
                    action: AuditAction::Create,
                    entity: "member",
                    entity_id: m.id.to_string(),
                    org_id: OrgId(m.org_id),
                    before: None,
                    after: Some(after),
                }
            })
            .collect();
        insert_chunked(&txn, new_rows.into_iter().map(active_model).collect()).await?;
        append_many(&txn, &self.actor, now, changes).await?;
        txn.commit().await?;
        Ok(ImportReport {
            mode,
            accepted,
            rejected,
            committed: true,
            rows: report,
        })
    }

    /// The organisations that have councils (the city and branches) in scope.
    pub async fn council_orgs(&self) -> StoreResult<Vec<Org>> {
        self.actor.require(Permission::ViewOrgs)?;
        self.select::<orgs::Entity>()
            .filter(orgs::Column::Level.is_in([OrgLevel::City.as_str(), OrgLevel::District.as_str()]))
            .order_by_asc(orgs::Column::Code)
            .all(&self.store.read)
            .await?
            .into_iter()
            .map(to_org)
            .collect()
    }

    async fn council_org(&self, id: OrgId) -> StoreResult<Org> {
        let org = self.org_get(id).await?;
        if org.level == OrgLevel::Unit {
            return Err(StoreError::NotFound);
        }
        Ok(org)
    }

    /// The councils of the city or a branch in scope.
    pub async fn council_view(&self, id: OrgId) -> StoreResult<CouncilView> {
        let org = self.council_org(id).await?;
        let members = council_members::Entity::find()
            .filter(council_members::Column::OrgId.eq(id.0))
            .order_by_desc(council_members::Column::TermNo)
            .order_by_asc(council_members::Column::CreatedAt)
            .order_by_asc(council_members::Column::Id)
            .all(&self.store.read)
            .await?
            .into_iter()
            .map(to_council_member)
            .collect::<StoreResult<Vec<_>>>()?;
        let meetings = council_meetings::Entity::find()
            .filter(council_meetings::Column::OrgId.eq(id.0))
            .select_only()
            .columns([
                council_meetings::Column::Id,
                council_meetings::Column::OrgId,
                council_meetings::Column::Body,
                council_meetings::Column::HeldOn,
                council_meetings::Column::Title,
                council_meetings::Column::MinutesName,
                council_meetings::Column::CreatedBy,
            ])
            .order_by_desc(council_meetings::Column::HeldOn)
            .into_tuple::<(Uuid, Uuid, String, NaiveDate, String, Option<String>, String)>()
            .all(&self.store.read)
            .await?
            .into_iter()
            .map(|(id, org_id, body, held_on, title, minutes_name, created_by)| {
                Ok(Meeting {
                    id: MeetingId(id),
                    org_id: OrgId(org_id),
                    body: CouncilBody::parse(&body).ok_or_else(|| corrupt(format!("council body {body}")))?,
                    held_on,
                    title,
                    minutes_name,
                    created_by,
                })
            })
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(CouncilView { org, members, meetings })
    }

    /// Adds a member to a council of the city or a branch in scope.
    pub async fn council_member_add(&self, org: OrgId, input: CouncilMemberForCreate) -> StoreResult<CouncilMember> {
        self.actor.require(Permission::ManageOrgs)?;
        self.council_org(org).await?;
        let now = self.store.now();
        let row = council_members::Model {
            id: Uuid::now_v7(),
            org_id: org.0,
            body: input.body.as_str().to_owned(),
            person_name: input.person_name.clone(),
            role: input.role.clone(),
            term_no: input.term_no,
            term_start: input.term_start,
            term_end: input.term_end,
            created_at: now,
        };
        let txn = self.store.begin_write().await?;
        council_members::Entity::insert(council_members::ActiveModel {
            id: Set(row.id),
            org_id: Set(row.org_id),
            body: Set(row.body.clone()),
            person_name: Set(row.person_name.clone()),
            role: Set(row.role.clone()),
            term_no: Set(row.term_no),
            term_start: Set(row.term_start),
            term_end: Set(row.term_end),
            created_at: Set(now),
        })
        .exec_without_returning(&txn)
        .await?;
        append(
            &txn,
            &self.actor,
            now,
            AuditChange {
                action: AuditAction::Create,
                entity: "council_member",
                entity_id: row.id.to_string(),
                org_id: org,
                before: None,
                after: Some(serde_json::to_value(&input).map_err(corrupt)?),
            },
        )
        .await?;
        txn.commit().await?;
        to_council_member(row)
    }

    /// Records a meeting of a council in scope, with its minutes if given.
    pub async fn meeting_add(
        &self,
        org: OrgId,
        input: MeetingForCreate,
        minutes: Option<Attachment>,
    ) -> StoreResult<Meeting> {
        self.actor.require(Permission::ManageOrgs)?;
        self.council_org(org).await?;
        let now = self.store.now();
        let id = Uuid::now_v7();
        let sha = minutes.as_ref().map(|f| {
            use sha2::Digest;
            hex::encode(sha2::Sha256::digest(&f.bytes))
        });
        let txn = self.store.begin_write().await?;
        council_meetings::Entity::insert(council_meetings::ActiveModel {
            id: Set(id),
            org_id: Set(org.0),
            body: Set(input.body.as_str().to_owned()),
            held_on: Set(input.held_on),
            title: Set(input.title.clone()),
            minutes_name: Set(minutes.as_ref().map(|f| f.name.clone())),
            minutes_mime: Set(minutes.as_ref().map(|f| f.kind.mime().to_owned())),
            minutes_bytes: Set(minutes.as_ref().map(|f| f.bytes.clone())),
            created_by: Set(self.actor.username.clone()),
            created_at: Set(now),
        })
        .exec_without_returning(&txn)
        .await?;
        append(
            &txn,
            &self.actor,
            now,
            AuditChange {
                action: AuditAction::Create,
                entity: "council_meeting",
                entity_id: id.to_string(),
                org_id: org,
                before: None,
                after: Some(serde_json::json!({
                    "body": input.body.as_str(), "held_on": input.held_on, "title": input.title,
                    "minutes": minutes.as_ref().map(|f| serde_json::json!({
                        "name": f.name, "mime": f.kind.mime(), "size": f.bytes.len(), "sha256": sha,
                    })),
                })),
            },
        )
        .await?;
        txn.commit().await?;
        Ok(Meeting {
            id: MeetingId(id),
            org_id: org,
            body: input.body,
            held_on: input.held_on,
            title: input.title,
            minutes_name: minutes.map(|f| f.name),
            created_by: self.actor.username.clone(),
        })
    }

    /// A meeting's minutes, in scope.
    pub async fn meeting_minutes(&self, id: MeetingId) -> StoreResult<MinutesFile> {
        self.actor.require(Permission::ViewOrgs)?;
        let row = self
            .select::<council_meetings::Entity>()
            .filter(council_meetings::Column::Id.eq(id.0))
            .one(&self.store.read)
            .await?
            .ok_or(StoreError::NotFound)?;
        match (row.minutes_name, row.minutes_mime, row.minutes_bytes) {
            (Some(name), Some(mime), Some(bytes)) => Ok(MinutesFile { name, mime, bytes }),
            _ => Err(StoreError::NotFound),
        }
    }
}

/// A meeting row as the demo seeds it (minutes are PDF).
pub(crate) fn meeting_row(
    org: OrgId,
    body: CouncilBody,
    held_on: NaiveDate,
    title: &str,
    minutes: Option<(&str, Vec<u8>)>,
    now: DateTime<Utc>,
    id: Uuid,
) -> council_meetings::ActiveModel {
    council_meetings::ActiveModel {
        id: Set(id),
        org_id: Set(org.0),
        body: Set(body.as_str().to_owned()),
        held_on: Set(held_on),
        title: Set(title.to_owned()),
        minutes_name: Set(minutes.as_ref().map(|m| m.0.to_owned())),
        minutes_mime: Set(minutes.as_ref().map(|_| "application/pdf".to_owned())),
        minutes_bytes: Set(minutes.map(|m| m.1)),
        created_by: Set("system".to_owned()),
        created_at: Set(now),
    }
}
