//! Member records (scoped): the rows in the actor's subtree with their
//! units and dues standing, lists and pages, one member, a new member.

use super::*;

impl ScopedStore {
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
    pub(super) async fn member_rows(&self, filter: &MemberFilter) -> StoreResult<Vec<members::Model>> {
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
}
