//! Member imports (scoped): every row checked (unit in scope, 身份证 not
//! on file or twice in the file), then written or not by the import commit
//! rule ([`crate::import::ImportReport::decide`]).

use super::*;
use crate::import::taken;

impl ScopedStore {
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
        let known = taken::<members::Entity, _>(&txn, members::Column::IdCardHash).await?;
        let mut numbers = taken::<members::Entity, _>(&txn, members::Column::MemberNo).await?;
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
        let report = match ImportReport::decide(mode, report) {
            Ok(report) => report,
            Err(refused) => return Ok(refused),
        };
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
        Ok(report)
    }
}
