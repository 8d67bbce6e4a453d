//! Filing and the public side: a case filed by staff or online (rule,
//! duplicates, numbers, documents; `relief_file` is the one filing
//! path), programmes and districts as the public form shows them, an
//! applicant's status by case number and code, the public case of a ledger
//! entry.

use super::*;

impl Store {
    /// Every programme, by code: for the public application form.
    pub async fn relief_programmes_public(&self) -> StoreResult<Vec<Programme>> {
        relief_programmes::Entity::find()
            .order_by_asc(relief_programmes::Column::Code)
            .all(&self.read)
            .await?
            .into_iter()
            .map(to_programme)
            .collect()
    }

    /// The city's district short names, for forms.
    pub async fn relief_districts(&self) -> StoreResult<Vec<String>> {
        Ok(district_names(&self.read).await?.into_iter().map(|d| d.1).collect())
    }

    /// Files an application made online by the person (no sign-in): the case
    /// goes to the first community unit of the applicant's district.
    pub async fn relief_apply_online(
        &self,
        programme_id: ProgrammeId,
        input: &boai_domain::relief::ApplicationInput,
        files: &dyn FileStore,
        ip: Option<String>,
    ) -> StoreResult<Filed> {
        let programme = self.relief_programme_row(programme_id).await?;
        let districts = district_names(&self.read).await?;
        let names: Vec<String> = districts.iter().map(|d| d.1.clone()).collect();
        let app = Application::parse(input, &programme.settings, &names).map_err(StoreError::Invalid)?;
        let district_path = districts
            .iter()
            .find(|d| d.1 == app.district)
            .map(|d| d.2.clone())
            .ok_or_else(|| invalid("district", "区县不在本市范围内"))?;
        let unit = orgs::Entity::find()
            .filter(orgs::Column::Level.eq(OrgLevel::Unit.as_str()))
            .filter(orgs::Column::Kind.eq(OrgKind::Community.as_str()))
            .filter(crate::scoped::orgs_within(&district_path))
            .order_by_asc(orgs::Column::Code)
            .one(&self.read)
            .await?
            .ok_or_else(|| invalid("district", "该区县暂无受理单位, 请到红十字会现场申请"))?;
        let actor = public_actor(OrgId(unit.id), ip);
        self.relief_file(&actor, &programme, app, OrgId(unit.id), Channel::Online, files)
            .await
    }

    pub(super) async fn relief_programme_row(&self, id: ProgrammeId) -> StoreResult<Programme> {
        let row = relief_programmes::Entity::find_by_id(id.0)
            .one(&self.read)
            .await?
            .ok_or_else(|| invalid("programme_id", "救助项目不存在"))?;
        to_programme(row)
    }

    /// Files a validated application for `unit` (checks the programme's
    /// rule and duplicates, then writes case, files' metadata, a
    /// notification and the audit row in one transaction).
    pub(super) async fn relief_file(
        &self,
        actor: &Actor,
        programme: &Programme,
        app: Application,
        unit: OrgId,
        channel: Channel,
        files: &dyn FileStore,
    ) -> StoreResult<Filed> {
        let now = self.now();
        let today = china_date(now);
        let id_hash = self.secrets.keyed_hash(app.id_card.as_str());
        let earlier = relief_cases::Entity::find()
            .filter(relief_cases::Column::IdHash.eq(id_hash.clone()))
            .filter(relief_cases::Column::ProgrammeId.eq(programme.id.0))
            .order_by_desc(relief_cases::Column::CreatedAt)
            .all(&self.read)
            .await?;
        if let Some(dup) = earlier
            .iter()
            .find(|c| c.status != CaseStatus::Rejected.as_str() && c.created_at > now - Duration::days(365))
        {
            return Err(invalid(
                "id_card",
                format!(
                    "该申请人 12 个月内已申请过本项目 (案件号 {}), 不能重复申请",
                    dup.case_no
                ),
            ));
        }
        let months_since_aid = earlier
            .iter()
            .filter_map(|c| c.paid_at)
            .max()
            .map(|at| months_between(china_date(at), today));
        let verdict = programme.settings.rule.evaluate(&app.facts(today, months_since_aid));
        if !verdict.eligible {
            return Err(invalid("eligibility", verdict.explanation()));
        }
        let mut stored = Vec::with_capacity(app.documents.len());
        for (doc, a) in &app.documents {
            let sha = files.put(&a.bytes).map_err(|e| StoreError::io("attachment store", e))?;
            stored.push((
                doc.clone(),
                a.name.clone(),
                a.kind.mime().to_owned(),
                a.bytes.len(),
                sha,
            ));
        }
        let code: String = {
            let mut rng = rand::thread_rng();
            (0..8).map(|_| char::from(b'0' + rng.gen_range(0..10u8))).collect()
        };
        let txn = self.begin_write().await?;
        let n = next_in_sequence(&txn, "relief_case").await?;
        let case_no = format!("JZ{}{:06}", today.year(), n);
        let id = CaseId::new();
        let model = relief_cases::Model {
            id: id.0,
            pseudonym: format!("受助人 R{n:05}"),
            case_no: case_no.clone(),
            programme_id: programme.id.0,
            org_id: unit.0,
            district: app.district.clone(),
            channel: match channel {
                Channel::Online => "online",
                Channel::Staff => "staff",
            }
            .to_owned(),
            applicant_name: app.applicant_name.clone(),
            id_enc: self.secrets.encrypt(app.id_card.as_str()),
            id_hash,
            id_masked: app.id_card.masked(),
            phone_enc: self.secrets.encrypt(app.phone.as_str()),
            phone_masked: app.phone.masked(),
            household_size: i32::try_from(app.household_size).unwrap_or(1),
            household_income_fen: app.household_income.0,
            hardship: app.hardship.clone(),
            diagnosis: app.diagnosis.clone(),
            hospital: app.hospital.clone(),
            bank_name: app.bank_name.clone(),
            bank_account_enc: app.bank_account.as_deref().map(|a| self.secrets.encrypt(a)),
            bank_account_masked: app
                .bank_account
                .as_deref()
                .map(boai_domain::privacy::mask::bank_account),
            amount_fen: app.amount.0,
            status: CaseStatus::Pending.as_str().to_owned(),
            step: 0,
            step_since: now,
            public_reason: None,
            eligibility: verdict.explanation(),
            lookup_hash: self.secrets.keyed_hash(&format!("relief-lookup:{case_no}:{code}")),
            filed_by: actor.user_id.map(|u| u.0),
            filed_by_name: actor.username.clone(),
            created_at: now,
            decided_at: None,
            paid_at: None,
            journal_entry_id: None,
            ledger_index: None,
        };
        relief_cases::Entity::insert(relief_cases::ActiveModel::from(model.clone()))
            .exec_without_returning(&txn)
            .await?;
        if let Some(version) = &app.health_consent {
            crate::entities::consents::Entity::insert(crate::entities::consents::ActiveModel {
                id: Set(uuid::Uuid::now_v7()),
                org_id: Set(unit.0),
                subject: Set("relief_cases".to_owned()),
                subject_id: Set(id.0),
                purpose: Set("health".to_owned()),
                version: Set(version.clone()),
                text: Set(boai_domain::privacy::HEALTH_CONSENT_TEXT.to_owned()),
                channel: Set(model.channel.clone()),
                given_at: Set(now),
            })
            .exec_without_returning(&txn)
            .await?;
        }
        for (doc, name, mime, size, sha) in &stored {
            relief_attachments::Entity::insert(relief_attachments::ActiveModel {
                id: Set(uuid::Uuid::now_v7()),
                case_id: Set(id.0),
                document: Set(doc.clone()),
                file_name: Set(name.clone()),
                mime: Set(mime.clone()),
                size: Set(i64::try_from(*size).unwrap_or(i64::MAX)),
                sha256: Set(sha.clone()),
                created_at: Set(now),
            })
            .exec_without_returning(&txn)
            .await?;
        }
        notify(
            &txn,
            self,
            id,
            &model.phone_enc,
            format!(
                "【红十字会】您申请的「{}」已受理, 案件号 {case_no}, 请凭查询码查询进度。",
                programme.name
            ),
            now,
        )
        .await?;
        let case = to_case(model)?;
        append(
            &txn,
            actor,
            now,
            AuditChange {
                action: AuditAction::Create,
                entity: "relief_case",
                entity_id: id.to_string(),
                org_id: unit,
                before: None,
                after: Some(serde_json::json!({
                    "case": case_audit(&case),
                    "attachments": stored.iter().map(|s| serde_json::json!({"document": s.0, "name": s.1, "size": s.3, "sha256": s.4})).collect::<Vec<_>>(),
                })),
            },
        )
        .await?;
        txn.commit().await?;
        Ok(Filed {
            case,
            lookup_code: code,
        })
    }

    /// The applicant's view of their case, if the case number and lookup
    /// code match (one answer for any wrong detail).
    pub async fn relief_status(&self, case_no: &str, code: &str) -> StoreResult<Option<CaseStatusView>> {
        let case_no = case_no.trim().to_ascii_uppercase();
        let Some(row) = relief_cases::Entity::find()
            .filter(relief_cases::Column::CaseNo.eq(case_no.clone()))
            .one(&self.read)
            .await?
        else {
            return Ok(None);
        };
        let expected = self
            .secrets
            .keyed_hash(&format!("relief-lookup:{case_no}:{}", code.trim()));
        if !same(&expected, &row.lookup_hash) {
            return Ok(None);
        }
        let programme = self.relief_programme_row(ProgrammeId(row.programme_id)).await?;
        let case = to_case(row)?;
        Ok(Some(CaseStatusView {
            case_no: case.case_no,
            programme: programme.name,
            status: case.status,
            status_label: case.status.label_zh().to_owned(),
            reason: case.public_reason,
            amount: case.amount,
            created_at: case.created_at,
            paid_at: case.paid_at,
        }))
    }

    /// A paid case by the ledger index of its payment: public, no personal data.
    pub async fn relief_public_case(&self, ledger_index: i64) -> StoreResult<PublicCase> {
        let row = relief_cases::Entity::find()
            .filter(relief_cases::Column::LedgerIndex.eq(ledger_index))
            .filter(relief_cases::Column::Status.eq(CaseStatus::Paid.as_str()))
            .one(&self.read)
            .await?
            .ok_or(StoreError::NotFound)?;
        let programme = self.relief_programme_row(ProgrammeId(row.programme_id)).await?;
        Ok(PublicCase {
            pseudonym: row.pseudonym,
            programme: programme.name,
            project_id: programme.project_id,
            district: row.district,
            amount: Fen(row.amount_fen),
            paid_on: row.paid_at.map(china_date),
            ledger_index,
        })
    }

    /// The paid cases among these ledger indexes (for the trace page).
    pub async fn relief_cases_at(&self, indexes: &[i64]) -> StoreResult<HashMap<i64, PublicCase>> {
        if indexes.is_empty() {
            return Ok(HashMap::new());
        }
        let programmes: HashMap<uuid::Uuid, Programme> = self
            .relief_programmes_public()
            .await?
            .into_iter()
            .map(|p| (p.id.0, p))
            .collect();
        let mut out = HashMap::new();
        for chunk in indexes.chunks(500) {
            let rows = relief_cases::Entity::find()
                .filter(relief_cases::Column::LedgerIndex.is_in(chunk.to_vec()))
                .filter(relief_cases::Column::Status.eq(CaseStatus::Paid.as_str()))
                .all(&self.read)
                .await?;
            for r in rows {
                let (Some(i), Some(p)) = (r.ledger_index, programmes.get(&r.programme_id)) else {
                    continue;
                };
                out.insert(
                    i,
                    PublicCase {
                        pseudonym: r.pseudonym,
                        programme: p.name.clone(),
                        project_id: p.project_id,
                        district: r.district,
                        amount: Fen(r.amount_fen),
                        paid_on: r.paid_at.map(china_date),
                        ledger_index: i,
                    },
                );
            }
        }
        Ok(out)
    }
}
