//! Personal information requests (PIPL) in the database: what the society
//! holds about one person, exported or anonymised, and the separate consents.
//!
//! Rules:
//! - Only callers granted `ManagePrivacy`; every read goes through the scope
//!   (a district exports and anonymises only within its subtree).
//! - A person is found by the keyed hash of their ID number (never the number
//!   itself), or by their phone: donors through the phone's keyed hash,
//!   members and relief applicants (whose phones have no hash) by decrypting
//!   the phones in scope in batches and comparing. Nothing found for another
//!   identifier is added (no other person's data).
//! - An export decrypts the person's own numbers; it writes the request row
//!   and an `access` audit row (masked subject, counts only) in one
//!   transaction before it is returned.
//! - Anonymisation is refused as a whole, with every reason, when a record is
//!   under a retention duty (an open relief case, unpaid dues); the refusal is
//!   recorded too. Otherwise, in one transaction, names become `已匿名化`,
//!   phones, ID numbers, bank accounts, diagnoses and hospitals are erased,
//!   relief attachments (scanned documents) are erased from the file store,
//!   and each changed record is audited without its personal data. Gifts,
//!   amounts, projects, journal and ledger entries are never changed; a
//!   gift's commitment salt is erased, so the name commitment in the public
//!   ledger can no longer be opened to the person (`boai ledger check` then
//!   takes the logged commitment of such a gift as it stands).

use crate::audit::{append, AuditChange};
use crate::entities::{
    consents, council_members, donor_visits, donors, dues_payments, gifts, members, orgs, payment_orders,
    privacy_requests, projects, relief_attachments, relief_cases, relief_notifications, relief_programmes,
};
use crate::relief::files::FileStore;
use crate::{Page, ScopedStore, StoreError, StoreResult};
use boai_domain::accounts::Permission;
use boai_domain::audit::AuditAction;
use boai_domain::clock::china_date;
use boai_domain::ids::OrgId;
use boai_domain::members::MemberId;
use boai_domain::privacy::{relief_case_settled, RequestKind, Retention, Subject, ANONYMISED_NAME};
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde::Serialize;
use std::collections::{BTreeMap, HashSet};
use uuid::Uuid;

crate::scoped::org_owned!(privacy_requests);

/// What an erased field shows.
pub const ERASED: &str = "已删除";

/// The file key of an erased attachment (never a SHA-256, so never fetched).
pub const ERASED_FILE: &str = "erased";

/// Rows read per batch when phones are compared by decrypting.
const SCAN_BATCH: u64 = 500;

/// A gift in an export.
#[derive(Debug, Clone, Serialize)]
pub struct GiftExport {
    pub id: Uuid,
    pub certificate_no: String,
    pub project_id: Uuid,
    pub project_name: String,
    pub amount_fen: i64,
    pub refunded_fen: i64,
    pub channel: String,
    pub status: String,
    pub received_on: NaiveDate,
    pub ledger_index: Option<i64>,
}

/// A visit to a donor in an export.
#[derive(Debug, Clone, Serialize)]
pub struct VisitExport {
    pub visited_on: NaiveDate,
    pub visitor: String,
    pub notes: Option<String>,
    pub follow_up_on: Option<NaiveDate>,
}

/// A donor record in an export, decrypted.
#[derive(Debug, Clone, Serialize)]
pub struct DonorExport {
    pub id: Uuid,
    pub kind: String,
    pub name: String,
    pub phone: Option<String>,
    pub id_card_no: Option<String>,
    pub public_name_consent: bool,
    pub org_name: String,
    pub created_at: DateTime<Utc>,
    pub gifts: Vec<GiftExport>,
    pub visits: Vec<VisitExport>,
}

/// A dues payment in an export.
#[derive(Debug, Clone, Serialize)]
pub struct DuesExport {
    pub year: i32,
    pub amount_fen: i64,
    pub receipt_no: String,
    pub paid_on: NaiveDate,
}

/// A council seat in an export.
#[derive(Debug, Clone, Serialize)]
pub struct SeatExport {
    pub org_name: String,
    pub body: String,
    pub role: String,
    pub term_no: i32,
    pub term_start: NaiveDate,
    pub term_end: NaiveDate,
}

/// A member record in an export, decrypted.
#[derive(Debug, Clone, Serialize)]
pub struct MemberExport {
    pub id: Uuid,
    pub member_no: String,
    pub name: String,
    pub id_card_no: Option<String>,
    pub phone: Option<String>,
    pub type_code: String,
    pub unit_name: String,
    pub joined_on: NaiveDate,
    pub status: String,
    pub arrears_years: Vec<i32>,
    pub dues: Vec<DuesExport>,
    /// Seats held under the same name in the member's own organisation chain.
    pub council_seats: Vec<SeatExport>,
}

/// A consent in an export and on the case page.
#[derive(Debug, Clone, Serialize)]
pub struct ConsentView {
    pub purpose: String,
    pub version: String,
    pub text: String,
    pub channel: String,
    pub given_at: DateTime<Utc>,
}

/// A relief case (as applicant) in an export, decrypted.
#[derive(Debug, Clone, Serialize)]
pub struct CaseExport {
    pub id: Uuid,
    pub case_no: String,
    pub programme: String,
    pub status: String,
    pub applicant_name: String,
    pub id_card_no: Option<String>,
    pub phone: Option<String>,
    pub district: String,
    pub household_size: i32,
    pub household_income_fen: i64,
    pub hardship: Option<String>,
    pub diagnosis: String,
    pub hospital: Option<String>,
    pub bank_name: Option<String>,
    pub bank_account: Option<String>,
    pub amount_fen: i64,
    pub filed_at: DateTime<Utc>,
    pub consents: Vec<ConsentView>,
}

/// Everything the society holds about one person, within the caller's scope.
#[derive(Debug, Clone, Serialize)]
pub struct PersonExport {
    pub request_id: Uuid,
    pub subject_kind: String,
    pub subject_masked: String,
    pub generated_at: DateTime<Utc>,
    pub generated_by: String,
    pub donors: Vec<DonorExport>,
    pub members: Vec<MemberExport>,
    pub relief_cases: Vec<CaseExport>,
}

impl PersonExport {
    /// How many records of each kind it holds.
    pub fn counts(&self) -> serde_json::Value {
        serde_json::json!({
            "donors": self.donors.len(),
            "gifts": self.donors.iter().map(|d| d.gifts.len()).sum::<usize>(),
            "members": self.members.len(),
            "relief_cases": self.relief_cases.len(),
        })
    }
}

/// A recorded request.
#[derive(Debug, Clone, Serialize)]
pub struct PrivacyRequest {
    pub id: Uuid,
    pub kind: String,
    pub subject_kind: String,
    pub subject_masked: String,
    pub requested_by: String,
    pub received_on: NaiveDate,
    /// `done` or `refused`.
    pub outcome: String,
    /// Counts of what was exported or changed, or the reasons of a refusal.
    pub detail: serde_json::Value,
    pub handled_by: String,
    pub created_at: DateTime<Utc>,
}

fn to_request(r: privacy_requests::Model) -> PrivacyRequest {
    PrivacyRequest {
        id: r.id,
        kind: r.kind,
        subject_kind: r.subject_kind,
        subject_masked: r.subject_masked,
        requested_by: r.requested_by,
        received_on: r.received_on,
        outcome: r.outcome,
        detail: serde_json::from_str(&r.detail).unwrap_or(serde_json::Value::Null),
        handled_by: r.handled_by_name,
        created_at: r.created_at,
    }
}

/// The rows found for one person.
struct Found {
    donors: Vec<donors::Model>,
    members: Vec<members::Model>,
    cases: Vec<relief_cases::Model>,
}

fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

impl ScopedStore {
    /// The rows in scope that belong to `subject`.
    async fn privacy_find(&self, subject: &Subject) -> StoreResult<Found> {
        let secrets = &self.store.secrets;
        let read = &self.store.read;
        match subject {
            Subject::IdCard(id) => {
                let hash = secrets.keyed_hash(id.as_str());
                let donors = self
                    .select::<donors::Entity>()
                    .filter(donors::Column::IdCardHash.eq(hash.clone()))
                    .order_by_asc(donors::Column::CreatedAt)
                    .all(read)
                    .await?;
                let members = self
                    .select::<members::Entity>()
                    .filter(members::Column::IdCardHash.eq(hash.clone()))
                    .order_by_asc(members::Column::CreatedAt)
                    .all(read)
                    .await?;
                let cases = self
                    .select::<relief_cases::Entity>()
                    .filter(relief_cases::Column::IdHash.eq(hash))
                    .order_by_asc(relief_cases::Column::CreatedAt)
                    .all(read)
                    .await?;
                Ok(Found { donors, members, cases })
            }
            Subject::Phone(phone) => {
                let want = phone.as_str();
                let donors = self
                    .select::<donors::Entity>()
                    .filter(donors::Column::PhoneHash.eq(secrets.keyed_hash(want)))
                    .order_by_asc(donors::Column::CreatedAt)
                    .all(read)
                    .await?;
                let mut members = Vec::new();
                let mut after: Option<Uuid> = None;
                loop {
                    let mut q = self
                        .select::<members::Entity>()
                        .filter(members::Column::PhoneEnc.is_not_null())
                        .order_by_asc(members::Column::Id)
                        .limit(SCAN_BATCH);
                    if let Some(a) = after {
                        q = q.filter(members::Column::Id.gt(a));
                    }
                    let batch = q.all(read).await?;
                    let Some(last) = batch.last() else { break };
                    after = Some(last.id);
                    members.extend(batch.into_iter().filter(|m| {
                        m.phone_enc
                            .as_deref()
                            .and_then(|p| secrets.decrypt(p))
                            .is_some_and(|p| digits(&p) == want)
                    }));
                }
                let mut cases = Vec::new();
                let mut after: Option<Uuid> = None;
                loop {
                    let mut q = self
                        .select::<relief_cases::Entity>()
                        .order_by_asc(relief_cases::Column::Id)
                        .limit(SCAN_BATCH);
                    if let Some(a) = after {
                        q = q.filter(relief_cases::Column::Id.gt(a));
                    }
                    let batch = q.all(read).await?;
                    let Some(last) = batch.last() else { break };
                    after = Some(last.id);
                    cases.extend(
                        batch
                            .into_iter()
                            .filter(|c| secrets.decrypt(&c.phone_enc).is_some_and(|p| digits(&p) == want)),
                    );
                }
                Ok(Found { donors, members, cases })
            }
        }
    }

    async fn org_names(&self, ids: impl IntoIterator<Item = Uuid>) -> StoreResult<BTreeMap<Uuid, orgs::Model>> {
        let ids: Vec<Uuid> = ids.into_iter().collect::<HashSet<_>>().into_iter().collect();
        if ids.is_empty() {
            return Ok(BTreeMap::new());
        }
        Ok(orgs::Entity::find()
            .filter(orgs::Column::Id.is_in(ids))
            .all(&self.store.read)
            .await?
            .into_iter()
            .map(|o| (o.id, o))
            .collect())
    }

    /// Case id → its consents.
    pub(crate) async fn consents_of(&self, case_ids: &[Uuid]) -> StoreResult<BTreeMap<Uuid, Vec<ConsentView>>> {
        let mut out: BTreeMap<Uuid, Vec<ConsentView>> = BTreeMap::new();
        if case_ids.is_empty() {
            return Ok(out);
        }
        for c in consents::Entity::find()
            .filter(consents::Column::Subject.eq("relief_cases"))
            .filter(consents::Column::SubjectId.is_in(case_ids.to_vec()))
            .order_by_asc(consents::Column::GivenAt)
            .all(&self.store.read)
            .await?
        {
            out.entry(c.subject_id).or_default().push(ConsentView {
                purpose: c.purpose,
                version: c.version,
                text: c.text,
                channel: c.channel,
                given_at: c.given_at,
            });
        }
        Ok(out)
    }

    /// The request row and its audit row, in the caller's transaction.
    #[allow(clippy::too_many_arguments)]
    async fn record_request<C: ConnectionTrait>(
        &self,
        conn: &C,
        kind: RequestKind,
        subject: &Subject,
        requested_by: &str,
        outcome: &str,
        detail: serde_json::Value,
        now: DateTime<Utc>,
    ) -> StoreResult<PrivacyRequest> {
        let row = privacy_requests::Model {
            id: Uuid::now_v7(),
            org_id: self.actor.org_id.0,
            kind: kind.as_str().to_owned(),
            subject_kind: subject.kind().to_owned(),
            subject_masked: subject.masked(),
            requested_by: requested_by.to_owned(),
            received_on: china_date(now),
            outcome: outcome.to_owned(),
            detail: detail.to_string(),
            handled_by: self.actor.user_id.map(|u| u.0),
            handled_by_name: self.actor.username.clone(),
            created_at: now,
        };
        privacy_requests::Entity::insert(privacy_requests::ActiveModel {
            id: Set(row.id),
            org_id: Set(row.org_id),
            kind: Set(row.kind.clone()),
            subject_kind: Set(row.subject_kind.clone()),
            subject_masked: Set(row.subject_masked.clone()),
            requested_by: Set(row.requested_by.clone()),
            received_on: Set(row.received_on),
            outcome: Set(row.outcome.clone()),
            detail: Set(row.detail.clone()),
            handled_by: Set(row.handled_by),
            handled_by_name: Set(row.handled_by_name.clone()),
            created_at: Set(now),
        })
        .exec_without_returning(conn)
        .await?;
        append(
            conn,
            &self.actor,
            now,
            AuditChange {
                action: if kind == RequestKind::Export {
                    AuditAction::Access
                } else {
                    AuditAction::Create
                },
                entity: "privacy_request",
                entity_id: row.id.to_string(),
                org_id: self.actor.org_id,
                before: None,
                after: Some(serde_json::json!({
                    "kind": row.kind, "subject": row.subject_masked, "requested_by": row.requested_by,
                    "outcome": row.outcome, "detail": detail,
                })),
            },
        )
        .await?;
        Ok(to_request(row))
    }

    /// Everything in scope about `subject`, decrypted, recorded as a request
    /// and audited as an access to personal data.
    pub async fn privacy_export(&self, subject: &Subject, requested_by: &str) -> StoreResult<PersonExport> {
        self.actor.require(Permission::ManagePrivacy)?;
        let requested_by = requested_by_checked(requested_by)?;
        let found = self.privacy_find(subject).await?;
        let secrets = &self.store.secrets;
        let read = &self.store.read;
        let open = |v: &Option<String>| v.as_deref().and_then(|s| secrets.decrypt(s));

        let donor_ids: Vec<Uuid> = found.donors.iter().map(|d| d.id).collect();
        let gift_rows = if donor_ids.is_empty() {
            Vec::new()
        } else {
            self.select::<gifts::Entity>()
                .filter(gifts::Column::DonorId.is_in(donor_ids.clone()))
                .order_by_asc(gifts::Column::ReceivedOn)
                .order_by_asc(gifts::Column::CertificateNo)
                .all(read)
                .await?
        };
        let project_names: BTreeMap<Uuid, String> = projects::Entity::find()
            .filter(projects::Column::Id.is_in(gift_rows.iter().map(|g| g.project_id).collect::<Vec<_>>()))
            .all(read)
            .await?
            .into_iter()
            .map(|p| (p.id, p.name))
            .collect();
        let visit_rows = if donor_ids.is_empty() {
            Vec::new()
        } else {
            donor_visits::Entity::find()
                .filter(donor_visits::Column::DonorId.is_in(donor_ids))
                .order_by_asc(donor_visits::Column::VisitedOn)
                .all(read)
                .await?
        };
        let member_ids: Vec<Uuid> = found.members.iter().map(|m| m.id).collect();
        let dues_rows = if member_ids.is_empty() {
            Vec::new()
        } else {
            dues_payments::Entity::find()
                .filter(dues_payments::Column::MemberId.is_in(member_ids))
                .order_by_asc(dues_payments::Column::Year)
                .all(read)
                .await?
        };
        let names = self
            .org_names(
                found
                    .donors
                    .iter()
                    .map(|d| d.org_id)
                    .chain(found.members.iter().map(|m| m.org_id)),
            )
            .await?;
        let seats = self
            .select::<council_members::Entity>()
            .filter(
                council_members::Column::PersonName
                    .is_in(found.members.iter().map(|m| m.name.clone()).collect::<Vec<_>>()),
            )
            .all(read)
            .await?;
        let seat_orgs = self.org_names(seats.iter().map(|s| s.org_id)).await?;
        let programmes: BTreeMap<Uuid, String> = relief_programmes::Entity::find()
            .all(read)
            .await?
            .into_iter()
            .map(|p| (p.id, p.name))
            .collect();
        let case_ids: Vec<Uuid> = found.cases.iter().map(|c| c.id).collect();
        let mut consents = self.consents_of(&case_ids).await?;

        let donors_out = found
            .donors
            .iter()
            .map(|d| DonorExport {
                id: d.id,
                kind: d.kind.clone(),
                name: d.name.clone(),
                phone: open(&d.phone_enc),
                id_card_no: open(&d.id_card_enc),
                public_name_consent: d.public,
                org_name: names.get(&d.org_id).map(|o| o.name.clone()).unwrap_or_default(),
                created_at: d.created_at,
                gifts: gift_rows
                    .iter()
                    .filter(|g| g.donor_id == Some(d.id))
                    .map(|g| GiftExport {
                        id: g.id,
                        certificate_no: g.certificate_no.clone(),
                        project_id: g.project_id,
                        project_name: project_names.get(&g.project_id).cloned().unwrap_or_default(),
                        amount_fen: g.amount_fen,
                        refunded_fen: g.refunded_fen,
                        channel: g.channel.clone(),
                        status: g.status.clone(),
                        received_on: g.received_on,
                        ledger_index: g.ledger_index,
                    })
                    .collect(),
                visits: visit_rows
                    .iter()
                    .filter(|v| v.donor_id == d.id)
                    .map(|v| VisitExport {
                        visited_on: v.visited_on,
                        visitor: v.visitor.clone(),
                        notes: v.notes.clone(),
                        follow_up_on: v.follow_up_on,
                    })
                    .collect(),
            })
            .collect();
        let mut members_out = Vec::new();
        for m in &found.members {
            let view = self.member_get(MemberId(m.id)).await?;
            let unit_path = names.get(&m.org_id).map(|o| o.path.clone()).unwrap_or_default();
            members_out.push(MemberExport {
                id: m.id,
                member_no: m.member_no.clone(),
                name: m.name.clone(),
                id_card_no: open(&m.id_card_enc),
                phone: open(&m.phone_enc),
                type_code: m.type_code.clone(),
                unit_name: names.get(&m.org_id).map(|o| o.name.clone()).unwrap_or_default(),
                joined_on: m.joined_on,
                status: m.status.clone(),
                arrears_years: view.member.arrears_years,
                dues: dues_rows
                    .iter()
                    .filter(|p| p.member_id == m.id)
                    .map(|p| DuesExport {
                        year: p.year,
                        amount_fen: p.amount_fen,
                        receipt_no: p.receipt_no.clone(),
                        paid_on: p.paid_on,
                    })
                    .collect(),
                council_seats: seats
                    .iter()
                    .filter(|s| s.person_name == m.name)
                    .filter_map(|s| {
                        let org = seat_orgs.get(&s.org_id)?;
                        // The seat's organisation is the member's unit or above it.
                        boai_domain::scope::is_within(&unit_path, &org.path).then(|| SeatExport {
                            org_name: org.name.clone(),
                            body: s.body.clone(),
                            role: s.role.clone(),
                            term_no: s.term_no,
                            term_start: s.term_start,
                            term_end: s.term_end,
                        })
                    })
                    .collect(),
            });
        }
        let cases_out = found
            .cases
            .iter()
            .map(|c| CaseExport {
                id: c.id,
                case_no: c.case_no.clone(),
                programme: programmes.get(&c.programme_id).cloned().unwrap_or_default(),
                status: c.status.clone(),
                applicant_name: c.applicant_name.clone(),
                id_card_no: secrets.decrypt(&c.id_enc).filter(|s| !s.is_empty()),
                phone: secrets.decrypt(&c.phone_enc).filter(|s| !s.is_empty()),
                district: c.district.clone(),
                household_size: c.household_size,
                household_income_fen: c.household_income_fen,
                hardship: c.hardship.clone(),
                diagnosis: c.diagnosis.clone(),
                hospital: c.hospital.clone(),
                bank_name: c.bank_name.clone(),
                bank_account: open(&c.bank_account_enc),
                amount_fen: c.amount_fen,
                filed_at: c.created_at,
                consents: consents.remove(&c.id).unwrap_or_default(),
            })
            .collect();
        let now = self.store.now();
        let mut export = PersonExport {
            request_id: Uuid::nil(),
            subject_kind: subject.kind().to_owned(),
            subject_masked: subject.masked(),
            generated_at: now,
            generated_by: self.actor.username.clone(),
            donors: donors_out,
            members: members_out,
            relief_cases: cases_out,
        };
        let txn = self.store.begin_write().await?;
        let request = self
            .record_request(
                &txn,
                RequestKind::Export,
                subject,
                &requested_by,
                "done",
                export.counts(),
                now,
            )
            .await?;
        txn.commit().await?;
        export.request_id = request.id;
        Ok(export)
    }

    /// Anonymises everything in scope about `subject`, or refuses as a whole
    /// (recorded, with every reason) while a record must be kept.
    /// Anonymises everything held about `subject` (see the module's rules);
    /// the relief attachments' bytes are removed from `files` once the
    /// transaction has committed (a file another case still names is kept).
    pub async fn privacy_anonymise(
        &self,
        subject: &Subject,
        requested_by: &str,
        files: &dyn FileStore,
    ) -> StoreResult<PrivacyRequest> {
        self.actor.require(Permission::ManagePrivacy)?;
        let requested_by = requested_by_checked(requested_by)?;
        let found = self.privacy_find(subject).await?;
        let mut duties = Vec::new();
        for c in &found.cases {
            if !relief_case_settled(&c.status) {
                let label = boai_domain::relief::review::CaseStatus::parse(&c.status)
                    .map(|s| s.label_zh().to_owned())
                    .unwrap_or_else(|| c.status.clone());
                duties.push(Retention::OpenReliefCase {
                    case_no: c.case_no.clone(),
                    status: label,
                });
            }
        }
        for m in &found.members {
            let view = self.member_get(MemberId(m.id)).await?;
            if !view.member.arrears_years.is_empty() {
                duties.push(Retention::UnpaidDues {
                    member_no: m.member_no.clone(),
                    years: u32::try_from(view.member.arrears_years.len()).unwrap_or(u32::MAX),
                });
            }
        }
        let now = self.store.now();
        let txn = self.store.begin_write().await?;
        if !duties.is_empty() {
            let reasons: Vec<String> = duties.iter().map(Retention::reason_zh).collect();
            self.record_request(
                &txn,
                RequestKind::Anonymise,
                subject,
                &requested_by,
                "refused",
                serde_json::json!({ "reasons": reasons }),
                now,
            )
            .await?;
            txn.commit().await?;
            return Err(StoreError::Conflict(format!(
                "不能删除或匿名化: {}",
                reasons.join("; ")
            )));
        }
        let secrets = &self.store.secrets;
        let mut audits: Vec<(&str, Uuid, Uuid)> = Vec::new();
        let mut erased_files: HashSet<String> = HashSet::new();
        for d in &found.donors {
            donors::Entity::update_many()
                .col_expr(donors::Column::Name, Expr::value(ANONYMISED_NAME))
                .col_expr(donors::Column::PhoneEnc, Expr::value(Option::<String>::None))
                .col_expr(donors::Column::PhoneHash, Expr::value(Option::<String>::None))
                .col_expr(donors::Column::PhoneMasked, Expr::value(Option::<String>::None))
                .col_expr(donors::Column::IdCardEnc, Expr::value(Option::<String>::None))
                .col_expr(donors::Column::IdCardHash, Expr::value(Option::<String>::None))
                .col_expr(donors::Column::IdCardMasked, Expr::value(Option::<String>::None))
                .col_expr(donors::Column::Public, Expr::value(false))
                .col_expr(donors::Column::UpdatedAt, Expr::value(now))
                .filter(donors::Column::Id.eq(d.id))
                .exec(&txn)
                .await?;
            donor_visits::Entity::update_many()
                .col_expr(donor_visits::Column::Notes, Expr::value(Option::<String>::None))
                .filter(donor_visits::Column::DonorId.eq(d.id))
                .exec(&txn)
                .await?;
            let gift_ids: Vec<Uuid> = gifts::Entity::find()
                .filter(gifts::Column::DonorId.eq(d.id))
                .all(&txn)
                .await?
                .into_iter()
                .map(|g| g.id)
                .collect();
            if !gift_ids.is_empty() {
                gifts::Entity::update_many()
                    .col_expr(gifts::Column::CommitmentSalt, Expr::value(Option::<String>::None))
                    .filter(gifts::Column::Id.is_in(gift_ids.clone()))
                    .exec(&txn)
                    .await?;
                payment_orders::Entity::update_many()
                    .col_expr(payment_orders::Column::DonorName, Expr::value(Option::<String>::None))
                    .col_expr(
                        payment_orders::Column::DonorPhoneEnc,
                        Expr::value(Option::<String>::None),
                    )
                    .col_expr(
                        payment_orders::Column::DonorIdCardEnc,
                        Expr::value(Option::<String>::None),
                    )
                    .col_expr(payment_orders::Column::UpdatedAt, Expr::value(now))
                    .filter(payment_orders::Column::GiftId.is_in(gift_ids))
                    .exec(&txn)
                    .await?;
            }
            audits.push(("donor", d.id, d.org_id));
        }
        for m in &found.members {
            members::Entity::update_many()
                .col_expr(members::Column::Name, Expr::value(ANONYMISED_NAME))
                .col_expr(members::Column::IdCardEnc, Expr::value(Option::<String>::None))
                .col_expr(members::Column::IdCardHash, Expr::value(Option::<String>::None))
                .col_expr(members::Column::IdCardMasked, Expr::value(Option::<String>::None))
                .col_expr(members::Column::PhoneEnc, Expr::value(Option::<String>::None))
                .col_expr(members::Column::PhoneMasked, Expr::value(Option::<String>::None))
                .col_expr(members::Column::UpdatedAt, Expr::value(now))
                .filter(members::Column::Id.eq(m.id))
                .exec(&txn)
                .await?;
            audits.push(("member", m.id, m.org_id));
        }
        for c in &found.cases {
            relief_cases::Entity::update_many()
                .col_expr(relief_cases::Column::ApplicantName, Expr::value(ANONYMISED_NAME))
                .col_expr(relief_cases::Column::IdEnc, Expr::value(secrets.encrypt("")))
                .col_expr(
                    relief_cases::Column::IdHash,
                    Expr::value(secrets.keyed_hash(&format!("anonymised:{}", c.id))),
                )
                .col_expr(relief_cases::Column::IdMasked, Expr::value(ERASED))
                .col_expr(relief_cases::Column::PhoneEnc, Expr::value(secrets.encrypt("")))
                .col_expr(relief_cases::Column::PhoneMasked, Expr::value(ERASED))
                .col_expr(relief_cases::Column::Diagnosis, Expr::value(ERASED))
                .col_expr(relief_cases::Column::Hospital, Expr::value(Option::<String>::None))
                .col_expr(relief_cases::Column::Hardship, Expr::value(Option::<String>::None))
                .col_expr(relief_cases::Column::BankName, Expr::value(Option::<String>::None))
                .col_expr(
                    relief_cases::Column::BankAccountEnc,
                    Expr::value(Option::<String>::None),
                )
                .col_expr(
                    relief_cases::Column::BankAccountMasked,
                    Expr::value(Option::<String>::None),
                )
                .filter(relief_cases::Column::Id.eq(c.id))
                .exec(&txn)
                .await?;
            relief_notifications::Entity::update_many()
                .col_expr(
                    relief_notifications::Column::RecipientEnc,
                    Expr::value(secrets.encrypt("")),
                )
                .filter(relief_notifications::Column::CaseId.eq(c.id))
                .exec(&txn)
                .await?;
            let attached = relief_attachments::Entity::find()
                .filter(relief_attachments::Column::CaseId.eq(c.id))
                .all(&txn)
                .await?;
            erased_files.extend(attached.into_iter().map(|a| a.sha256));
            relief_attachments::Entity::update_many()
                .col_expr(relief_attachments::Column::FileName, Expr::value(ERASED))
                .col_expr(relief_attachments::Column::Size, Expr::value(0i64))
                .col_expr(relief_attachments::Column::Sha256, Expr::value(ERASED_FILE))
                .filter(relief_attachments::Column::CaseId.eq(c.id))
                .exec(&txn)
                .await?;
            audits.push(("relief_case", c.id, c.org_id));
        }
        let detail = serde_json::json!({
            "donors": found.donors.len(),
            "members": found.members.len(),
            "relief_cases": found.cases.len(),
            "files_erased": erased_files.len(),
            "kept": "捐赠金额、项目、会计分录与公开账本条目保持不变",
        });
        let request = self
            .record_request(
                &txn,
                RequestKind::Anonymise,
                subject,
                &requested_by,
                "done",
                detail,
                now,
            )
            .await?;
        for (entity, id, org) in audits {
            append(
                &txn,
                &self.actor,
                now,
                AuditChange {
                    action: AuditAction::Update,
                    entity,
                    entity_id: id.to_string(),
                    org_id: OrgId(org),
                    before: None,
                    after: Some(serde_json::json!({ "anonymised": true, "privacy_request": request.id })),
                },
            )
            .await?;
        }
        txn.commit().await?;
        // The bytes go after the commit: a failed transaction must not lose
        // a case's documents. A file another case also names is kept.
        for sha in erased_files {
            let still_named = relief_attachments::Entity::find()
                .filter(relief_attachments::Column::Sha256.eq(sha.as_str()))
                .count(&self.store.write)
                .await?;
            if still_named == 0 {
                if let Err(e) = files.remove(&sha) {
                    tracing::warn!(error = %e, "an erased attachment could not be removed from the file store");
                }
            }
        }
        Ok(request)
    }

    /// The requests recorded in scope, newest first.
    pub async fn privacy_requests(&self, page: Page) -> StoreResult<(Vec<PrivacyRequest>, u64)> {
        self.actor.require(Permission::ManagePrivacy)?;
        let q = self
            .select::<privacy_requests::Entity>()
            .order_by_desc(privacy_requests::Column::CreatedAt);
        let total = q.clone().count(&self.store.read).await?;
        let rows = q
            .offset(page.offset())
            .limit(page.per_page)
            .all(&self.store.read)
            .await?;
        Ok((rows.into_iter().map(to_request).collect(), total))
    }
}

/// Who asked: 1–100 characters (e.g. "本人 (窗口递交)").
fn requested_by_checked(s: &str) -> StoreResult<String> {
    let t = s.trim();
    if t.is_empty() || t.chars().count() > 100 {
        let mut e = boai_domain::validation::FieldErrors::new();
        e.add("requested_by", "请填写申请人 (1–100 个字)");
        return Err(StoreError::Invalid(e));
    }
    Ok(t.to_owned())
}
