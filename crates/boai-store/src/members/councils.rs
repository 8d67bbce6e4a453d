//! Councils of the city and the branches (scoped): members and roles,
//! meetings and their minutes files.

use super::*;

impl ScopedStore {
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
