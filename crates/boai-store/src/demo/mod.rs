//! The demo city: the society modelled on Jinan's, its 12 districts and
//! counties, their 2,328 grassroots units (see [`network`]), and the demo accounts of
//! CONTRACT.md. Seeding is deterministic (ids are UUID v5 of each code), runs
//! in one transaction, is audited like any change, and happens only on a
//! database that holds no organisation yet. The organisations, particulars
//! and assessments are written in multi-row inserts (and their audit rows with
//! one head update), so seeding the whole network stays quick.

mod funds;
mod giving;
pub mod indexes;
mod members;
pub mod network;
mod relief;
mod transparency;
pub use funds::PROJECTS;
pub use relief::GRASSROOTS_USER;
pub use transparency::{tiny_pdf, JUST_OVERDUE, LONG_OVERDUE};

use crate::accounts::{hash_password, insert_user};
use crate::audit::{append, append_many, AuditChange};
use crate::entities::{app_meta, orgs};
use crate::network::{insert_chunked, org_row, unit_row};
use crate::{Actor, Store, StoreError, StoreResult};
use boai_domain::accounts::{Role, UserForCreate};
use boai_domain::audit::AuditAction;
use boai_domain::ids::OrgId;
use boai_domain::orgs::{Org, OrgKind, OrgLevel};
use boai_domain::scope::{child_path, root_path, Scope};
use sea_orm::{ActiveValue::Set, EntityTrait, PaginatorTrait};
use std::collections::HashMap;
use uuid::Uuid;

/// The namespace of the demo's deterministic ids.
const DEMO_NAMESPACE: Uuid = Uuid::from_u128(0x6b6f_6169_2d64_656d_6f2d_6369_7479_0001);

/// The city society.
pub const CITY: (&str, &str) = ("JN", "济南市红十字会");

/// The districts and counties: code, name, kind.
pub const DISTRICTS: [(&str, &str, OrgKind); 12] = [
    ("JN-LX", "历下区红十字会", OrgKind::District),
    ("JN-SZ", "市中区红十字会", OrgKind::District),
    ("JN-HY", "槐荫区红十字会", OrgKind::District),
    ("JN-TQ", "天桥区红十字会", OrgKind::District),
    ("JN-LC", "历城区红十字会", OrgKind::District),
    ("JN-CQ", "长清区红十字会", OrgKind::District),
    ("JN-ZQ", "章丘区红十字会", OrgKind::District),
    ("JN-JY", "济阳区红十字会", OrgKind::District),
    ("JN-LW", "莱芜区红十字会", OrgKind::District),
    ("JN-GC", "钢城区红十字会", OrgKind::District),
    ("JN-PY", "平阴县红十字会", OrgKind::County),
    ("JN-SH", "商河县红十字会", OrgKind::County),
];

/// The first four units of every district: code suffix, name pattern, kind
/// (the rest are generated, see [`network`]).
const UNITS: [(&str, &str, OrgKind); 4] = [
    ("001", "{}第一社区红十字服务站", OrgKind::Community),
    ("002", "{}实验学校红十字会", OrgKind::School),
    ("003", "{}人民医院红十字会", OrgKind::Hospital),
    ("004", "{}爱心企业红十字会", OrgKind::Enterprise),
];

/// The demo accounts: username, name, role, organisation code.
pub const ACCOUNTS: [(&str, &str, Role, &str); 5] = [
    ("admin", "系统管理员", Role::Admin, "JN"),
    ("shi", "市会工作人员", Role::CityStaff, "JN"),
    ("caiwu", "财务", Role::Finance, "JN"),
    ("lixia", "历下区工作人员", Role::DistrictStaff, "JN-LX"),
    ("supervisor", "监事", Role::Supervisor, "JN"),
];

/// The deterministic id of a demo organisation.
pub fn org_id(code: &str) -> OrgId {
    OrgId(Uuid::new_v5(&DEMO_NAMESPACE, code.as_bytes()))
}

/// The demo's organisations, parents first.
pub fn demo_orgs(at: chrono::DateTime<chrono::Utc>) -> Vec<Org> {
    let city_id = org_id(CITY.0);
    let city_path = root_path(city_id);
    let mut out = vec![Org {
        id: city_id,
        code: CITY.0.to_owned(),
        name: CITY.1.to_owned(),
        level: OrgLevel::City,
        kind: OrgKind::Society,
        parent_id: None,
        path: city_path.clone(),
        created_at: at,
        updated_at: at,
    }];
    for (code, name, kind) in DISTRICTS {
        let id = org_id(code);
        let path = child_path(&city_path, id);
        let place = name.trim_end_matches("红十字会");
        out.push(Org {
            id,
            code: code.to_owned(),
            name: name.to_owned(),
            level: OrgLevel::District,
            kind,
            parent_id: Some(city_id),
            path: path.clone(),
            created_at: at,
            updated_at: at,
        });
        for (suffix, pattern, unit_kind) in UNITS {
            let unit_code = format!("{code}-{suffix}");
            let unit_id = org_id(&unit_code);
            out.push(Org {
                id: unit_id,
                code: unit_code,
                name: pattern.replace("{}", place),
                level: OrgLevel::Unit,
                kind: unit_kind,
                parent_id: Some(id),
                path: child_path(&path, unit_id),
                created_at: at,
                updated_at: at,
            });
        }
    }
    for (d, (code, name, _)) in DISTRICTS.iter().enumerate() {
        let id = org_id(code);
        let path = child_path(&city_path, id);
        let place = name.trim_end_matches("红十字会");
        for unit in network::extra_units(d, place) {
            let unit_code = format!("{code}-{:03}", unit.suffix);
            let unit_id = org_id(&unit_code);
            out.push(Org {
                id: unit_id,
                code: unit_code,
                name: unit.name,
                level: OrgLevel::Unit,
                kind: unit.kind,
                parent_id: Some(id),
                path: child_path(&path, unit_id),
                created_at: at,
                updated_at: at,
            });
        }
    }
    out
}

/// How many gifts `serve --demo` seeds: a year of a city's giving.
pub const DEFAULT_GIFTS: u64 = 20_000;

/// Seeds the demo city with `gifts` gifts if the database holds no
/// organisation. Returns whether it seeded.
///
/// Past the organisations the database is new and only this writes to it,
/// so SQLite's writer does not wait for the disk at each commit meanwhile
/// (see [`Store::seeding_without_fsync`]); everything is made durable, and
/// the writer waits for the disk again, before this returns, whether the
/// seeding succeeded or not.
pub async fn seed(store: &Store, password: &str, gifts: u64, progress: impl FnMut(u64, u64)) -> StoreResult<bool> {
    let started = std::time::Instant::now();
    if !seed_city(store, password).await? {
        return Ok(false);
    }
    tracing::info!(seconds = started.elapsed().as_secs_f64(), "demo: organisations seeded");
    store.seeding_without_fsync().await?;
    let seeded = seed_the_rest(store, password, gifts, progress).await;
    let started = std::time::Instant::now();
    let durable = store.durable_again().await;
    tracing::info!(seconds = started.elapsed().as_secs_f64(), "demo: made durable");
    seeded.and(durable).map(|()| true)
}

/// The tables the gifts fill, whose non-unique indexes are built after the
/// gifts rather than row by row (see [`indexes`]). The month ends, which run
/// between the gifts, read none of these through those indexes.
pub const BULK_TABLES: [&str; 5] = [
    "gifts",
    "journal_entries",
    "journal_lines",
    "ledger_entries",
    "audit_log",
];

/// Everything after the organisations: funds and gifts, disclosures,
/// relief, online giving, members.
async fn seed_the_rest(store: &Store, password: &str, gifts: u64, progress: impl FnMut(u64, u64)) -> StoreResult<()> {
    let started = std::time::Instant::now();
    indexes::defer(store, &BULK_TABLES).await?;
    let seeded = funds::seed_funds(store, gifts, progress).await;
    tracing::info!(seconds = started.elapsed().as_secs_f64(), "demo: funds seeded");
    let started = std::time::Instant::now();
    let rebuilt = indexes::restore_deferred(store).await;
    tracing::info!(seconds = started.elapsed().as_secs_f64(), "demo: indexes built");
    seeded?;
    rebuilt?;
    let started = std::time::Instant::now();
    transparency::seed_disclosures(store).await?;
    relief::seed_relief(store, password).await?;
    tracing::info!(
        seconds = started.elapsed().as_secs_f64(),
        "demo: disclosures and relief seeded"
    );
    let started = std::time::Instant::now();
    giving::seed_giving(store).await?;
    members::seed_members(store).await?;
    tracing::info!(
        seconds = started.elapsed().as_secs_f64(),
        "demo: giving and members seeded"
    );
    Ok(())
}

/// The organisations and accounts (one transaction).
async fn seed_city(store: &Store, password: &str) -> StoreResult<bool> {
    let txn = store.begin_write().await?;
    if orgs::Entity::find().count(&txn).await? > 0 {
        return Ok(false);
    }
    let now = store.now();
    let city_id = org_id(CITY.0);
    let system = Actor {
        user_id: None,
        username: "system".to_owned(),
        role: Role::Admin,
        org_id: city_id,
        scope: Scope {
            org_id: city_id,
            path: root_path(city_id),
        },
        ip: None,
    };
    let orgs = demo_orgs(now);
    insert_chunked(&txn, orgs.iter().map(org_row).collect()).await?;
    let mut changes = Vec::with_capacity(orgs.len() * 2);
    for org in &orgs {
        changes.push(AuditChange {
            action: AuditAction::Create,
            entity: "org",
            entity_id: org.id.to_string(),
            org_id: org.id,
            before: None,
            after: Some(serde_json::to_value(org).map_err(|e| StoreError::Corrupt(e.to_string()))?),
        });
    }
    let district_of: HashMap<OrgId, usize> = DISTRICTS
        .iter()
        .enumerate()
        .map(|(d, (code, _, _))| (org_id(code), d))
        .collect();
    let units: Vec<(usize, OrgId, OrgKind)> = orgs
        .iter()
        .filter(|o| o.level == OrgLevel::Unit)
        .filter_map(|o| Some((*district_of.get(&o.parent_id?)?, o.id, o.kind)))
        .collect();
    let particulars = network::particulars(&units, |d| DISTRICTS[d].1.trim_end_matches("红十字会").to_owned());
    let assessed_on = boai_domain::clock::china_date(now) - chrono::Duration::days(30);
    insert_chunked(
        &txn,
        particulars.iter().map(|(id, d, _)| unit_row(*id, d, now)).collect(),
    )
    .await?;
    insert_chunked(
        &txn,
        particulars
            .iter()
            .flat_map(|(id, _, missing)| network::assessment_rows(*id, missing, assessed_on))
            .collect(),
    )
    .await?;
    for (id, details, missing) in &particulars {
        changes.push(AuditChange {
            action: AuditAction::Create,
            entity: "org_unit",
            entity_id: id.to_string(),
            org_id: *id,
            before: None,
            after: Some(serde_json::json!({"unit": details, "wuyou_missing": missing})),
        });
    }
    append_many(&txn, &system, now, changes).await?;
    let password_hash = hash_password(password)?;
    for (username, name, role, org_code) in ACCOUNTS {
        let input = UserForCreate {
            username: username.to_owned(),
            display_name: name.to_owned(),
            role,
            org_id: org_id(org_code),
            password: String::new(),
        };
        let user = insert_user(&txn, &input, &password_hash, now).await?;
        append(
            &txn,
            &system,
            now,
            AuditChange {
                action: AuditAction::Create,
                entity: "user",
                entity_id: user.id.to_string(),
                org_id: user.org_id,
                before: None,
                after: Some(serde_json::to_value(&user).map_err(|e| StoreError::Corrupt(e.to_string()))?),
            },
        )
        .await?;
    }
    app_meta::Entity::insert(app_meta::ActiveModel {
        key: Set("demo_seeded_at".to_owned()),
        value: Set(now.to_rfc3339()),
    })
    .exec_without_returning(&txn)
    .await?;
    txn.commit().await?;
    Ok(true)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use sea_orm::ConnectionTrait;

    /// Seeding relaxes SQLite's syncing only while it runs: afterwards the
    /// writer waits for the disk at each commit again (a server started
    /// with `--demo` goes on with the same connection) and the WAL has been
    /// checkpointed into the database file.
    #[tokio::test]
    async fn seeding_leaves_the_writer_durable_and_the_wal_checkpointed() -> anyhow::Result<()> {
        let dir = std::env::temp_dir().join(format!("boai-seed-sync-{}", uuid::Uuid::now_v7()));
        let path = dir.join("boai.db");
        let url = format!("sqlite://{}", path.display());
        let store = Store::connect(&url, std::sync::Arc::new(boai_domain::clock::SystemClock)).await?;
        store.migrate().await?;
        assert!(seed(&store, "demo-password-1", 300, |_, _| {}).await?);
        let synchronous = store
            .write
            .query_one(sea_orm::Statement::from_string(
                sea_orm::DbBackend::Sqlite,
                "PRAGMA synchronous",
            ))
            .await?
            .expect("a row");
        assert_eq!(synchronous.try_get_by_index::<i32>(0)?, 2, "synchronous=FULL again");
        let wal = std::fs::metadata(dir.join("boai.db-wal"))?.len();
        assert_eq!(wal, 0, "the WAL was checkpointed and emptied");
        assert!(store.gift_count().await? >= 300);
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
        Ok(())
    }
}
