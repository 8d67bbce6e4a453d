//! Programmes and cases as staff see them (scoped): programme settings
//! (audited), filing on behalf of an applicant, lists, one case with its
//! reviews and documents, a document's bytes.

use super::*;

impl ScopedStore {
    /// The programmes that apply to the actor (owned in their subtree or above them).
    pub async fn relief_programmes(&self) -> StoreResult<Vec<Programme>> {
        self.actor.require(Permission::ViewRelief)?;
        let all = self.store.relief_programmes_public().await?;
        let paths: HashMap<uuid::Uuid, String> = orgs::Entity::find()
            .filter(orgs::Column::Id.is_in(all.iter().map(|p| p.org_id.0).collect::<Vec<_>>()))
            .all(&self.store.read)
            .await?
            .into_iter()
            .map(|o| (o.id, o.path))
            .collect();
        Ok(all
            .into_iter()
            .filter(|p| {
                paths
                    .get(&p.org_id.0)
                    .is_some_and(|path| self.actor.scope.contains_or_above(path))
            })
            .collect())
    }

    /// One programme that applies to the actor.
    pub async fn relief_programme(&self, id: ProgrammeId) -> StoreResult<Programme> {
        self.relief_programmes()
            .await?
            .into_iter()
            .find(|p| p.id == id)
            .ok_or(StoreError::NotFound)
    }

    /// Changes a programme's settings (staff who may manage its owner's projects).
    pub async fn relief_programme_update(&self, id: ProgrammeId, settings: Settings) -> StoreResult<Programme> {
        self.actor.require(Permission::ManageProjects)?;
        let before = self.relief_programme(id).await?;
        if self.org_in_scope(&self.store.read, before.org_id).await?.is_none() {
            return Err(StoreError::Forbidden);
        }
        settings.check().map_err(StoreError::Invalid)?;
        let now = self.store.now();
        let json = serde_json::to_string(&settings).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let txn = self.store.begin_write().await?;
        relief_programmes::Entity::update_many()
            .col_expr(relief_programmes::Column::Settings, Expr::value(json))
            .col_expr(relief_programmes::Column::UpdatedAt, Expr::value(now))
            .filter(relief_programmes::Column::Id.eq(id.0))
            .exec(&txn)
            .await?;
        append(
            &txn,
            &self.actor,
            now,
            AuditChange {
                action: AuditAction::Update,
                entity: "relief_programme",
                entity_id: id.to_string(),
                org_id: before.org_id,
                before: Some(serde_json::to_value(&before.settings).map_err(|e| StoreError::Corrupt(e.to_string()))?),
                after: Some(serde_json::to_value(&settings).map_err(|e| StoreError::Corrupt(e.to_string()))?),
            },
        )
        .await?;
        txn.commit().await?;
        Ok(Programme { settings, ..before })
    }

    /// Files an application on behalf of a person: for the actor's own
    /// unit, or (district and city staff) for a unit in scope they name.
    pub async fn relief_apply(
        &self,
        programme_id: ProgrammeId,
        unit_id: Option<OrgId>,
        input: &boai_domain::relief::ApplicationInput,
        files: &dyn FileStore,
    ) -> StoreResult<Filed> {
        self.actor.require(Permission::HandleRelief)?;
        let programme = self
            .relief_programme(programme_id)
            .await
            .map_err(|_| invalid("programme_id", "救助项目不存在"))?;
        let districts = district_names(&self.store.read).await?;
        let names: Vec<String> = districts.iter().map(|d| d.1.clone()).collect();
        let mut errors = match Application::parse(input, &programme.settings, &names) {
            Ok(_) => FieldErrors::new(),
            Err(e) => e,
        };
        let unit_id = unit_id.unwrap_or(self.actor.org_id);
        let unit = self
            .org_in_scope(&self.store.read, unit_id)
            .await?
            .filter(|o| o.level == OrgLevel::Unit.as_str());
        match &unit {
            None => errors.add("unit_id", "请选择受理的基层单位 (须在您的管辖范围内)"),
            Some(u) => {
                let d = district_of_path(&districts, &u.path);
                let wanted = input.district.as_deref().map(str::trim);
                if wanted.is_some_and(|w| names.iter().any(|n| n == w)) && d.as_deref() != wanted {
                    errors.add("unit_id", "受理单位不在申请人居住的区县");
                }
            }
        }
        if !errors.is_empty() {
            return Err(StoreError::Invalid(errors));
        }
        let app = Application::parse(input, &programme.settings, &names).map_err(StoreError::Invalid)?;
        let unit = unit.ok_or(StoreError::NotFound)?;
        self.store
            .relief_file(&self.actor, &programme, app, OrgId(unit.id), Channel::Staff, files)
            .await
    }

    /// Cases in scope, newest first.
    pub async fn relief_cases(&self, filter: &CaseFilter, page: Page) -> StoreResult<(Vec<Case>, u64)> {
        self.actor.require(Permission::ViewRelief)?;
        let mut query = self.select::<relief_cases::Entity>();
        if let Some(p) = filter.programme_id {
            query = query.filter(relief_cases::Column::ProgrammeId.eq(p.0));
        }
        if let Some(s) = filter.status {
            query = query.filter(relief_cases::Column::Status.eq(s.as_str()));
        }
        if filter.overdue {
            let programmes: HashMap<uuid::Uuid, Programme> = self
                .store
                .relief_programmes_public()
                .await?
                .into_iter()
                .map(|p| (p.id.0, p))
                .collect();
            let now = self.store.now();
            let rows = query
                .filter(relief_cases::Column::Status.eq(CaseStatus::Pending.as_str()))
                .order_by_asc(relief_cases::Column::StepSince)
                .all(&self.store.read)
                .await?;
            let mut out = Vec::new();
            for r in rows {
                let case = to_case(r)?;
                let late = programmes
                    .get(&case.programme_id.0)
                    .and_then(|p| due_of(&case, p))
                    .is_some_and(|d| d < now);
                if late {
                    out.push(case);
                }
            }
            let total = out.len() as u64;
            let out = out
                .into_iter()
                .skip(usize::try_from(page.offset()).unwrap_or(usize::MAX))
                .take(usize::try_from(page.per_page).unwrap_or(100))
                .collect();
            return Ok((out, total));
        }
        let total = query.clone().count(&self.store.read).await?;
        let rows = query
            .order_by_desc(relief_cases::Column::CreatedAt)
            .order_by_desc(relief_cases::Column::Id)
            .offset(page.offset())
            .limit(page.per_page)
            .all(&self.store.read)
            .await?;
        Ok((rows.into_iter().map(to_case).collect::<StoreResult<_>>()?, total))
    }

    pub(super) async fn case_row(&self, id: CaseId) -> StoreResult<relief_cases::Model> {
        self.select::<relief_cases::Entity>()
            .filter(relief_cases::Column::Id.eq(id.0))
            .one(&self.store.read)
            .await?
            .ok_or(StoreError::NotFound)
    }

    /// One case in scope, with its reviews, attachments and payment.
    pub async fn relief_case(&self, id: CaseId) -> StoreResult<CaseDetail> {
        self.actor.require(Permission::ViewRelief)?;
        let case = to_case(self.case_row(id).await?)?;
        let programme = self.store.relief_programme_row(case.programme_id).await?;
        let org_name = orgs::Entity::find_by_id(case.org_id.0)
            .one(&self.store.read)
            .await?
            .map(|o| o.name)
            .unwrap_or_default();
        let reviews = relief_reviews::Entity::find()
            .filter(relief_reviews::Column::CaseId.eq(id.0))
            .order_by_asc(relief_reviews::Column::At)
            .order_by_asc(relief_reviews::Column::Id)
            .all(&self.store.read)
            .await?
            .into_iter()
            .map(|r| Review {
                step: r.step,
                level: r.level,
                decision: r.decision,
                reason: r.reason,
                reviewer_id: r.reviewer_id.map(UserId),
                reviewer_name: r.reviewer_name,
                at: r.at,
            })
            .collect();
        let attachments = relief_attachments::Entity::find()
            .filter(relief_attachments::Column::CaseId.eq(id.0))
            .order_by_asc(relief_attachments::Column::CreatedAt)
            .all(&self.store.read)
            .await?
            .into_iter()
            .map(|a| AttachmentMeta {
                id: a.id,
                document: a.document,
                file_name: a.file_name,
                mime: a.mime,
                size: a.size,
                sha256: a.sha256,
            })
            .collect();
        let entry = match case.journal_entry_id {
            Some(e) => match journal_entries::Entity::find_by_id(e).one(&self.store.read).await? {
                Some(m) => Some(crate::funds::to_entry(m)?),
                None => None,
            },
            None => None,
        };
        let due = due_of(&case, &programme);
        let overdue = due.is_some_and(|d| d < self.store.now());
        let consents = self.consents_of(&[id.0]).await?.remove(&id.0).unwrap_or_default();
        Ok(CaseDetail {
            consents,
            case,
            programme,
            org_name,
            reviews,
            attachments,
            entry,
            due,
            overdue,
        })
    }

    /// An attachment of a case in scope: its particulars and bytes.
    pub async fn relief_attachment(
        &self,
        case: CaseId,
        attachment: uuid::Uuid,
        files: &dyn FileStore,
    ) -> StoreResult<(AttachmentMeta, Vec<u8>)> {
        self.actor.require(Permission::ViewRelief)?;
        self.case_row(case).await?;
        let a = relief_attachments::Entity::find_by_id(attachment)
            .filter(relief_attachments::Column::CaseId.eq(case.0))
            .one(&self.store.read)
            .await?
            .ok_or(StoreError::NotFound)?;
        let bytes = files.get(&a.sha256).map_err(|_| StoreError::NotFound)?;
        Ok((
            AttachmentMeta {
                id: a.id,
                document: a.document,
                file_name: a.file_name,
                mime: a.mime,
                size: a.size,
                sha256: a.sha256,
            },
            bytes,
        ))
    }
}
