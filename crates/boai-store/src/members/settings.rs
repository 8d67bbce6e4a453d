//! Dues settings and small lookups (scoped): today's date and dues year,
//! the ID-number search token, units by code, dues rates by member type
//! and year, and after how many unpaid years members lapse (audited).

use super::*;

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
}
