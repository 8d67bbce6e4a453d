//! Disclosures (信息公开). Staff who may manage projects publish them, for a
//! project in their own subtree or for their own organisation, audited in the
//! same transaction (the audit row keeps the attachment's SHA-256, not its
//! bytes). The public reads every published disclosure and its attachment
//! without signing in ([`Store::public_disclosures`]); staff lists go
//! through the scope. Lists never read attachment bytes. The deadlines of
//! each open or closed project in scope come from
//! [`boai_domain::transparency::next_due`] and the latest disclosure dates.

use crate::audit::{append, AuditChange};
use crate::entities::{disclosures, orgs, projects};
use crate::funds::ProjectStatus;
use crate::idempotency::Responder;
use crate::{Page, ScopedStore, Store, StoreError, StoreResult};
use boai_domain::accounts::Permission;
use boai_domain::audit::AuditAction;
use boai_domain::clock::china_date;
use boai_domain::ids::{OrgId, ProjectId};
use boai_domain::transparency::{
    next_due, Deadline, DisclosureForCreate, DisclosureId, DisclosureKind, DisclosureRules, ProjectDates, ProjectPhase,
};
use boai_domain::validation::FieldErrors;
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Select,
};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::HashMap;

crate::scoped::org_owned!(disclosures);

/// An attachment as listed (its bytes are fetched on their own).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileMeta {
    pub name: String,
    pub mime: String,
    pub size: i64,
}

/// A disclosure as shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Disclosure {
    pub id: DisclosureId,
    pub kind: DisclosureKind,
    pub title: String,
    pub body: Option<String>,
    pub published_on: NaiveDate,
    pub project_id: Option<ProjectId>,
    pub project_name: Option<String>,
    pub org_id: OrgId,
    pub org_name: String,
    pub file: Option<FileMeta>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

/// An attachment to download.
#[derive(Clone, PartialEq, Eq)]
pub struct DisclosureFile {
    pub name: String,
    pub mime: String,
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for DisclosureFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DisclosureFile")
            .field("name", &self.name)
            .field("mime", &self.mime)
            .field("len", &self.bytes.len())
            .finish()
    }
}

/// Filters for listing disclosures.
#[derive(Debug, Clone, Default)]
pub struct DisclosureFilter {
    pub kind: Option<DisclosureKind>,
    pub project_id: Option<ProjectId>,
}

/// One project's disclosure deadline.
#[derive(Debug, Clone, Serialize)]
pub struct ProjectDeadline {
    pub project_id: ProjectId,
    pub project_code: String,
    pub project_name: String,
    pub org_id: OrgId,
    pub status: ProjectStatus,
    pub starts_on: Option<NaiveDate>,
    pub ends_on: Option<NaiveDate>,
    pub last_disclosed_on: Option<NaiveDate>,
    pub deadline: Deadline,
}

/// A disclosure row without its attachment's bytes.
#[derive(Debug, FromQueryResult)]
struct Row {
    id: uuid::Uuid,
    org_id: uuid::Uuid,
    project_id: Option<uuid::Uuid>,
    kind: String,
    title: String,
    body: Option<String>,
    published_on: NaiveDate,
    file_name: Option<String>,
    file_mime: Option<String>,
    file_size: Option<i64>,
    created_by: String,
    created_at: DateTime<Utc>,
}

/// The columns of [`Row`]: everything but the bytes, and their length.
fn without_bytes(query: Select<disclosures::Entity>) -> sea_orm::Selector<sea_orm::SelectModel<Row>> {
    use disclosures::Column as C;
    query
        .select_only()
        .columns([
            C::Id,
            C::OrgId,
            C::ProjectId,
            C::Kind,
            C::Title,
            C::Body,
            C::PublishedOn,
            C::FileName,
            C::FileMime,
            C::CreatedBy,
            C::CreatedAt,
        ])
        .column_as(Expr::cust("CAST(LENGTH(file_bytes) AS BIGINT)"), "file_size")
        .into_model::<Row>()
}

fn filtered(mut query: Select<disclosures::Entity>, filter: &DisclosureFilter) -> Select<disclosures::Entity> {
    if let Some(kind) = filter.kind {
        query = query.filter(disclosures::Column::Kind.eq(kind.as_str()));
    }
    if let Some(project) = filter.project_id {
        query = query.filter(disclosures::Column::ProjectId.eq(project.0));
    }
    query
}

async fn rows_to_view<C: ConnectionTrait>(conn: &C, rows: Vec<Row>) -> StoreResult<Vec<Disclosure>> {
    let project_ids: Vec<uuid::Uuid> = rows.iter().filter_map(|r| r.project_id).collect();
    let org_ids: Vec<uuid::Uuid> = rows.iter().map(|r| r.org_id).collect();
    let projects: HashMap<uuid::Uuid, String> = if project_ids.is_empty() {
        HashMap::new()
    } else {
        projects::Entity::find()
            .filter(projects::Column::Id.is_in(project_ids))
            .all(conn)
            .await?
            .into_iter()
            .map(|p| (p.id, p.name))
            .collect()
    };
    let orgs: HashMap<uuid::Uuid, String> = if org_ids.is_empty() {
        HashMap::new()
    } else {
        orgs::Entity::find()
            .filter(orgs::Column::Id.is_in(org_ids))
            .all(conn)
            .await?
            .into_iter()
            .map(|o| (o.id, o.name))
            .collect()
    };
    rows.into_iter()
        .map(|r| {
            Ok(Disclosure {
                id: DisclosureId(r.id),
                kind: DisclosureKind::parse(&r.kind)
                    .ok_or_else(|| StoreError::Corrupt(format!("disclosure kind {}", r.kind)))?,
                title: r.title,
                body: r.body,
                published_on: r.published_on,
                project_name: r.project_id.and_then(|p| projects.get(&p).cloned()),
                project_id: r.project_id.map(ProjectId),
                org_name: orgs.get(&r.org_id).cloned().unwrap_or_default(),
                org_id: OrgId(r.org_id),
                file: match (r.file_name, r.file_mime) {
                    (Some(name), Some(mime)) => Some(FileMeta {
                        name,
                        mime,
                        size: r.file_size.unwrap_or_default(),
                    }),
                    _ => None,
                },
                created_by: r.created_by,
                created_at: r.created_at,
            })
        })
        .collect()
}

/// What the audit trail keeps of a disclosure: the attachment's hash, not its bytes.
fn disclosure_audit(d: &Disclosure, file_sha256: Option<&str>) -> serde_json::Value {
    serde_json::json!({
        "kind": d.kind, "title": d.title, "body": d.body, "published_on": d.published_on,
        "project_id": d.project_id, "org_id": d.org_id,
        "file": d.file.as_ref().map(|f| serde_json::json!({
            "name": f.name, "mime": f.mime, "size": f.size, "sha256": file_sha256,
        })),
    })
}

fn project_out_of_reach() -> StoreError {
    let mut errors = FieldErrors::new();
    errors.add("project_id", "项目不存在或不在您的管辖范围内");
    StoreError::Invalid(errors)
}

impl Store {
    /// Today's date in China (UTC+8), from the store's clock.
    pub fn china_today(&self) -> NaiveDate {
        china_date(self.now())
    }

    /// Published disclosures (dated today or earlier), newest first: public.
    pub async fn public_disclosures(
        &self,
        filter: &DisclosureFilter,
        page: Page,
    ) -> StoreResult<(Vec<Disclosure>, u64)> {
        let query = filtered(disclosures::Entity::find(), filter)
            .filter(disclosures::Column::PublishedOn.lte(self.china_today()));
        let total = query.clone().count(&self.read).await?;
        let rows = without_bytes(
            query
                .order_by_desc(disclosures::Column::PublishedOn)
                .order_by_desc(disclosures::Column::CreatedAt)
                .order_by_desc(disclosures::Column::Id)
                .offset(page.offset())
                .limit(page.per_page),
        )
        .all(&self.read)
        .await?;
        Ok((rows_to_view(&self.read, rows).await?, total))
    }

    /// One published disclosure: public.
    pub async fn public_disclosure(&self, id: DisclosureId) -> StoreResult<Disclosure> {
        let row = without_bytes(
            disclosures::Entity::find()
                .filter(disclosures::Column::Id.eq(id.0))
                .filter(disclosures::Column::PublishedOn.lte(self.china_today())),
        )
        .one(&self.read)
        .await?
        .ok_or(StoreError::NotFound)?;
        rows_to_view(&self.read, vec![row])
            .await?
            .pop()
            .ok_or(StoreError::NotFound)
    }

    /// The attachment of a published disclosure: public.
    pub async fn public_disclosure_file(&self, id: DisclosureId) -> StoreResult<DisclosureFile> {
        let row = disclosures::Entity::find()
            .filter(disclosures::Column::Id.eq(id.0))
            .filter(disclosures::Column::PublishedOn.lte(self.china_today()))
            .one(&self.read)
            .await?
            .ok_or(StoreError::NotFound)?;
        match (row.file_name, row.file_mime, row.file_bytes) {
            (Some(name), Some(mime), Some(bytes)) => Ok(DisclosureFile { name, mime, bytes }),
            _ => Err(StoreError::NotFound),
        }
    }

    /// The projects that have published disclosures, by name: for filters.
    pub async fn public_disclosure_projects(&self) -> StoreResult<Vec<(ProjectId, String)>> {
        let ids: Vec<Option<uuid::Uuid>> = disclosures::Entity::find()
            .select_only()
            .column(disclosures::Column::ProjectId)
            .distinct()
            .filter(disclosures::Column::ProjectId.is_not_null())
            .filter(disclosures::Column::PublishedOn.lte(self.china_today()))
            .into_tuple()
            .all(&self.read)
            .await?;
        let ids: Vec<uuid::Uuid> = ids.into_iter().flatten().collect();
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        Ok(projects::Entity::find()
            .filter(projects::Column::Id.is_in(ids))
            .order_by_asc(projects::Column::Code)
            .all(&self.read)
            .await?
            .into_iter()
            .map(|p| (ProjectId(p.id), p.name))
            .collect())
    }
}

impl ScopedStore {
    /// Projects owned within the actor's subtree (those they may manage).
    fn own_projects(&self) -> Select<projects::Entity> {
        self.select::<projects::Entity>()
    }

    /// Publishes a disclosure: for a project in the actor's subtree (owned
    /// by the project's organisation), or for the actor's own organisation.
    pub async fn disclosure_create(
        &self,
        input: DisclosureForCreate,
        idempotency: Option<Responder<'_, Disclosure>>,
    ) -> StoreResult<Disclosure> {
        self.actor.require(Permission::ManageProjects)?;
        // Scope is checked before the transaction: holding a writer while
        // waiting for a reader could exhaust a shared pool.
        let (org_id, project_name) = match input.project_id {
            Some(id) => {
                let project = self
                    .own_projects()
                    .filter(projects::Column::Id.eq(id.0))
                    .one(&self.store.read)
                    .await?
                    .ok_or_else(project_out_of_reach)?;
                (OrgId(project.org_id), Some(project.name))
            }
            None => (self.actor.org_id, None),
        };
        let org_name = orgs::Entity::find_by_id(org_id.0)
            .one(&self.store.read)
            .await?
            .map(|o| o.name)
            .unwrap_or_default();
        let now = self.store.now();
        let id = DisclosureId::new();
        let file_sha256 = input.file.as_ref().map(|f| hex::encode(Sha256::digest(&f.bytes)));
        let disclosure = Disclosure {
            id,
            kind: input.kind,
            title: input.title.clone(),
            body: input.body.clone(),
            published_on: input.published_on,
            project_id: input.project_id,
            project_name,
            org_id,
            org_name,
            file: input.file.as_ref().map(|f| FileMeta {
                name: f.name.clone(),
                mime: f.kind.mime().to_owned(),
                size: i64::try_from(f.bytes.len()).unwrap_or(i64::MAX),
            }),
            created_by: self.actor.username.clone(),
            created_at: now,
        };
        let txn = self.store.begin_write().await?;
        disclosures::Entity::insert(disclosures::ActiveModel {
            id: Set(id.0),
            org_id: Set(org_id.0),
            project_id: Set(input.project_id.map(|p| p.0)),
            kind: Set(input.kind.as_str().to_owned()),
            title: Set(input.title),
            body: Set(input.body),
            published_on: Set(input.published_on),
            file_name: Set(input.file.as_ref().map(|f| f.name.clone())),
            file_mime: Set(input.file.as_ref().map(|f| f.kind.mime().to_owned())),
            file_bytes: Set(input.file.map(|f| f.bytes)),
            created_by: Set(self.actor.username.clone()),
            created_at: Set(now),
        })
        .exec_without_returning(&txn)
        .await?;
        if let Some((claim, render)) = idempotency {
            self.idempotency_record(&txn, claim, render(&disclosure)).await?;
        }
        append(
            &txn,
            &self.actor,
            now,
            AuditChange {
                action: AuditAction::Create,
                entity: "disclosure",
                entity_id: id.to_string(),
                org_id,
                before: None,
                after: Some(disclosure_audit(&disclosure, file_sha256.as_deref())),
            },
        )
        .await?;
        txn.commit().await?;
        Ok(disclosure)
    }

    /// Disclosures owned within the actor's subtree, newest first.
    pub async fn disclosures_list(&self, filter: &DisclosureFilter, page: Page) -> StoreResult<(Vec<Disclosure>, u64)> {
        let query = filtered(self.select::<disclosures::Entity>(), filter);
        let total = query.clone().count(&self.store.read).await?;
        let rows = without_bytes(
            query
                .order_by_desc(disclosures::Column::PublishedOn)
                .order_by_desc(disclosures::Column::CreatedAt)
                .order_by_desc(disclosures::Column::Id)
                .offset(page.offset())
                .limit(page.per_page),
        )
        .all(&self.store.read)
        .await?;
        Ok((rows_to_view(&self.store.read, rows).await?, total))
    }

    /// The projects owned within the actor's subtree that can take a
    /// disclosure (every fundraising project, drafts included), by code.
    pub async fn disclosure_projects(&self) -> StoreResult<Vec<(ProjectId, String)>> {
        Ok(self
            .own_projects()
            .filter(projects::Column::Kind.is_not_in(["general", "management"]))
            .order_by_asc(projects::Column::Code)
            .all(&self.store.read)
            .await?
            .into_iter()
            .map(|p| (ProjectId(p.id), p.name))
            .collect())
    }

    /// Every open or closed fundraising project owned within the actor's
    /// subtree, with its latest disclosure and when the next is due: the
    /// most overdue first, then by due date; finished ones last.
    pub async fn disclosure_deadlines(
        &self,
        rules: &DisclosureRules,
        today: NaiveDate,
    ) -> StoreResult<Vec<ProjectDeadline>> {
        self.actor.require(Permission::ViewFunds)?;
        let projects = self
            .own_projects()
            .filter(projects::Column::Status.is_in([ProjectStatus::Open.as_str(), ProjectStatus::Closed.as_str()]))
            .filter(projects::Column::Kind.is_not_in(["general", "management"]))
            .order_by_asc(projects::Column::Code)
            .all(&self.store.read)
            .await?;
        let ids: Vec<uuid::Uuid> = projects.iter().map(|p| p.id).collect();
        let dates: Vec<(Option<uuid::Uuid>, NaiveDate)> = if ids.is_empty() {
            Vec::new()
        } else {
            disclosures::Entity::find()
                .select_only()
                .column(disclosures::Column::ProjectId)
                .column(disclosures::Column::PublishedOn)
                .filter(disclosures::Column::ProjectId.is_in(ids))
                .filter(disclosures::Column::PublishedOn.lte(today))
                .into_tuple()
                .all(&self.store.read)
                .await?
        };
        let mut latest: HashMap<uuid::Uuid, NaiveDate> = HashMap::new();
        for (project, on) in dates {
            if let Some(project) = project {
                let e = latest.entry(project).or_insert(on);
                *e = (*e).max(on);
            }
        }
        let mut out = Vec::with_capacity(projects.len());
        for p in projects {
            let status =
                ProjectStatus::parse(&p.status).ok_or_else(|| StoreError::Corrupt(format!("status {}", p.status)))?;
            let phase = match status {
                ProjectStatus::Draft => ProjectPhase::Draft,
                ProjectStatus::Open => ProjectPhase::Open,
                ProjectStatus::Closed => ProjectPhase::Closed,
            };
            // No closing date is kept: a closed project's last change is
            // when it was closed (status changes stamp `updated_at`).
            let dates = ProjectDates {
                phase,
                starts_on: p.starts_on,
                ends_on: p.ends_on,
                created_on: china_date(p.created_at),
                closed_on: (phase == ProjectPhase::Closed).then(|| china_date(p.updated_at)),
            };
            let last = latest.get(&p.id).copied();
            out.push(ProjectDeadline {
                project_id: ProjectId(p.id),
                project_code: p.code,
                project_name: p.name,
                org_id: OrgId(p.org_id),
                status,
                starts_on: p.starts_on,
                ends_on: p.ends_on,
                last_disclosed_on: last,
                deadline: next_due(rules, &dates, last, today),
            });
        }
        out.sort_by(|a, b| {
            b.deadline
                .overdue_days
                .cmp(&a.deadline.overdue_days)
                .then_with(|| match (a.deadline.due_on, b.deadline.due_on) {
                    (Some(x), Some(y)) => x.cmp(&y),
                    (Some(_), None) => std::cmp::Ordering::Less,
                    (None, Some(_)) => std::cmp::Ordering::Greater,
                    (None, None) => std::cmp::Ordering::Equal,
                })
                .then_with(|| a.project_code.cmp(&b.project_code))
        });
        Ok(out)
    }
}
