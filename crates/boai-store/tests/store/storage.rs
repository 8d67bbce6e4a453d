//! The storage suite: the same tests on SQLite and PostgreSQL
//! (`BOAI_TEST_DATABASE=sqlite|postgres`).

use boai_domain::audit::ChainBreak;
use boai_domain::ids::OrgId;
use boai_domain::orgs::{OrgForCreate, OrgKind, OrgLevel};
use boai_store::audit::{AuditFilter, AuditVerdict};
use boai_store::demo::{org_id, DISTRICTS};
use boai_store::orgs::OrgFilter;
use boai_store::{Page, StoreError};
use boai_testkit::{actor, backend, demo_store, store};
use sea_orm::ConnectionTrait;

fn unit(parent: OrgId, name: &str) -> OrgForCreate {
    OrgForCreate {
        name: name.to_owned(),
        code: None,
        parent_id: parent,
        level: OrgLevel::Unit,
        kind: OrgKind::School,
    }
}

#[tokio::test]
async fn migrations_are_idempotent_and_current() -> anyhow::Result<()> {
    eprintln!("backend: {}", backend());
    let (store, _, _db) = store().await?;
    store.migrate().await?;
    assert!(store.migrations_current().await?);
    assert_eq!(store.backend().as_str(), backend());
    Ok(())
}

#[tokio::test]
async fn demo_seeds_once_and_deterministically() -> anyhow::Result<()> {
    let (store, _, _db) = boai_testkit::demo_store_seeded().await?;
    assert!(
        !boai_store::demo::seed(&store, "x", 10, |_, _| {}).await?,
        "a second seed must do nothing"
    );
    let city = store.scoped(actor(&store, "admin").await?);
    let (all, total) = city
        .orgs_list(&OrgFilter::default(), Page::new(Some(1), Some(100)))
        .await?;
    assert_eq!(
        total,
        1 + 12 + 2_328,
        "the city, 12 districts and counties, 2,328 grassroots units"
    );
    assert_eq!(all.len(), 100, "one page");
    let lixia = city.org_get(org_id("JN-LX")).await?;
    assert_eq!(lixia.name, "历下区红十字会");
    for (code, name, _) in DISTRICTS {
        assert_eq!(city.org_get(org_id(code)).await?.name, name);
    }
    Ok(())
}

#[tokio::test]
async fn district_scope_hides_other_districts() -> anyhow::Result<()> {
    let (store, _, _db) = demo_store().await?;
    let lixia = store.scoped(actor(&store, "lixia").await?);
    let (orgs, total) = lixia.orgs_list(&OrgFilter::default(), Page::default()).await?;
    assert_eq!(total, 1 + 186, "her branch and its 186 units");
    assert!(orgs.iter().all(|o| o.code.starts_with("JN-LX")));
    assert!(matches!(
        lixia.org_get(org_id("JN-SZ")).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        lixia.org_get(org_id("JN-SZ-001")).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(lixia.org_get(org_id("JN")).await, Err(StoreError::NotFound)));
    assert_eq!(lixia.org_get(org_id("JN-LX-002")).await?.code, "JN-LX-002");
    // Search cannot reach past the scope either.
    let filter = OrgFilter {
        q: Some("市中".into()),
        ..OrgFilter::default()
    };
    assert_eq!(lixia.orgs_list(&filter, Page::default()).await?.1, 0);
    Ok(())
}

#[tokio::test]
async fn create_checks_parent_scope_and_level_and_writes_audit() -> anyhow::Result<()> {
    let (store, _, _db) = demo_store().await?;
    let lixia = store.scoped(actor(&store, "lixia").await?);
    let admin = store.scoped(actor(&store, "admin").await?);
    let before = admin.audit_list(&AuditFilter::default(), Page::default()).await?.1;
    let created = lixia
        .org_create(unit(org_id("JN-LX"), "燕山学校红十字会"), None)
        .await?;
    assert_eq!(created.code, "JN-LX-187", "after the demo's 186 units");
    assert_eq!(lixia.org_get(created.id).await?.name, "燕山学校红十字会");
    // Another district's parent: refused as a field error, nothing written.
    let err = lixia.org_create(unit(org_id("JN-SZ"), "越权"), None).await;
    assert!(matches!(err, Err(StoreError::Invalid(ref e)) if e.for_field("parent_id").is_some()));
    // A unit directly under the city: wrong level.
    let city = store.scoped(actor(&store, "shi").await?);
    let err = city.org_create(unit(org_id("JN"), "错位"), None).await;
    assert!(matches!(err, Err(StoreError::Invalid(_))));
    // A duplicate code is a field error.
    let mut dup = unit(org_id("JN-LX"), "重复");
    dup.code = Some("JN-LX-001".into());
    assert!(
        matches!(lixia.org_create(dup, None).await, Err(StoreError::Invalid(ref e)) if e.for_field("code").is_some())
    );
    let (rows, _) = admin
        .audit_list(
            &AuditFilter {
                entity: Some("org".into()),
                entity_id: Some(created.id.to_string()),
                ..AuditFilter::default()
            },
            Page::default(),
        )
        .await?;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].actor_name, "lixia");
    assert_eq!(
        rows[0].after.as_ref().and_then(|a| a["name"].as_str()),
        Some("燕山学校红十字会")
    );
    assert_eq!(
        admin.audit_list(&AuditFilter::default(), Page::default()).await?.1,
        before + 2,
        "her create and shi's sign-in"
    );
    Ok(())
}

#[tokio::test]
async fn supervisor_cannot_write() -> anyhow::Result<()> {
    let (store, _, _db) = demo_store().await?;
    let sup = store.scoped(actor(&store, "supervisor").await?);
    assert!(matches!(
        sup.org_create(unit(org_id("JN-LX"), "x"), None).await,
        Err(StoreError::Forbidden)
    ));
    assert!(sup.orgs_tree().await?.len() > 50, "but reads the whole city");
    Ok(())
}

#[tokio::test]
async fn audit_chain_verifies_and_detects_tampering() -> anyhow::Result<()> {
    let (store, _, db) = demo_store().await?;
    let lixia = store.scoped(actor(&store, "lixia").await?);
    for i in 0..3 {
        lixia
            .org_create(unit(org_id("JN-LX"), &format!("单位{i}")), None)
            .await?;
    }
    let AuditVerdict::Intact { rows } = store.verify_audit(|_, _| {}).await? else {
        panic!("fresh chain broken")
    };
    assert!(rows > 60);
    let raw = db.raw().await?;
    // Edit one row.
    raw.execute_unprepared("UPDATE audit_log SET actor_name = 'mallory' WHERE seq = 5")
        .await?;
    assert_eq!(
        store.verify_audit(|_, _| {}).await?,
        AuditVerdict::Broken(ChainBreak::HashMismatch { seq: 5 })
    );
    raw.execute_unprepared("UPDATE audit_log SET actor_name = 'system' WHERE seq = 5")
        .await?;
    assert!(matches!(
        store.verify_audit(|_, _| {}).await?,
        AuditVerdict::Intact { .. }
    ));
    // Delete one row.
    raw.execute_unprepared("DELETE FROM audit_log WHERE seq = 7").await?;
    assert!(matches!(
        store.verify_audit(|_, _| {}).await?,
        AuditVerdict::Broken(ChainBreak::Gap { .. })
    ));
    Ok(())
}

#[tokio::test]
async fn audit_detects_reordering_and_truncation() -> anyhow::Result<()> {
    let (store, _, db) = demo_store().await?;
    let raw = db.raw().await?;
    // Swap the contents of rows 3 and 4 by renumbering them.
    raw.execute_unprepared("UPDATE audit_log SET seq = -3 WHERE seq = 3")
        .await?;
    raw.execute_unprepared("UPDATE audit_log SET seq = 3 WHERE seq = 4")
        .await?;
    raw.execute_unprepared("UPDATE audit_log SET seq = 4 WHERE seq = -3")
        .await?;
    assert!(matches!(store.verify_audit(|_, _| {}).await?, AuditVerdict::Broken(_)));
    let (store2, _, db2) = demo_store().await?;
    let raw2 = db2.raw().await?;
    raw2.execute_unprepared("DELETE FROM audit_log WHERE seq = (SELECT MAX(seq) FROM audit_log)")
        .await?;
    assert!(matches!(
        store2.verify_audit(|_, _| {}).await?,
        AuditVerdict::Broken(ChainBreak::HeadMismatch { .. })
    ));
    Ok(())
}

#[tokio::test]
async fn concurrent_writers_keep_one_chain() -> anyhow::Result<()> {
    let (store, _, _db) = demo_store().await?;
    let lixia = store.scoped(actor(&store, "lixia").await?);
    let mut tasks = Vec::new();
    for i in 0..16 {
        let s = lixia.clone();
        tasks.push(tokio::spawn(async move {
            s.org_create(
                OrgForCreate {
                    name: format!("并发{i}"),
                    code: Some(format!("C-{i}")),
                    parent_id: org_id("JN-LX"),
                    level: OrgLevel::Unit,
                    kind: OrgKind::Village,
                },
                None,
            )
            .await
        }));
    }
    for t in tasks {
        t.await??;
    }
    assert!(matches!(
        store.verify_audit(|_, _| {}).await?,
        AuditVerdict::Intact { .. }
    ));
    assert_eq!(
        lixia.orgs_list(&OrgFilter::default(), Page::default()).await?.1,
        187 + 16
    );
    Ok(())
}

#[tokio::test]
async fn times_round_trip_at_microsecond_precision() -> anyhow::Result<()> {
    let (store, clock, _db) = demo_store().await?;
    clock.advance(chrono::Duration::nanoseconds(123_456_789));
    let lixia = store.scoped(actor(&store, "lixia").await?);
    let created = lixia.org_create(unit(org_id("JN-LX"), "时间"), None).await?;
    let read = lixia.org_get(created.id).await?;
    assert_eq!(read.created_at, created.created_at);
    assert_eq!(read.created_at.timestamp_subsec_nanos() % 1000, 0);
    Ok(())
}

#[tokio::test]
async fn lockout_after_repeated_failures() -> anyhow::Result<()> {
    use boai_store::accounts::{LockoutPolicy, LoginOutcome};
    let (store, clock, _db) = demo_store().await?;
    let policy = LockoutPolicy {
        threshold: 3,
        duration: chrono::Duration::minutes(15),
    };
    for _ in 0..2 {
        assert!(matches!(
            store.sign_in("lixia", "wrong", None, policy).await?,
            LoginOutcome::BadCredentials
        ));
    }
    assert!(matches!(
        store.sign_in("lixia", "wrong", None, policy).await?,
        LoginOutcome::Locked { .. }
    ));
    assert!(matches!(
        store.sign_in("lixia", boai_testkit::PASSWORD, None, policy).await?,
        LoginOutcome::Locked { .. }
    ));
    clock.advance(chrono::Duration::minutes(16));
    assert!(matches!(
        store.sign_in("lixia", boai_testkit::PASSWORD, None, policy).await?,
        LoginOutcome::Success(_)
    ));
    assert!(matches!(
        store.sign_in("nobody", "x", None, policy).await?,
        LoginOutcome::BadCredentials
    ));
    Ok(())
}

/// The tables whose indexes the demo builds after its gifts.
const BULK: [&str; 5] = boai_store::demo::BULK_TABLES;

/// Deferring drops exactly the non-unique indexes (unique ones stay, they
/// are constraints); rebuilding brings back the same definitions, and a
/// second rebuild does nothing.
#[tokio::test]
async fn deferred_indexes_come_back_as_the_migrations_made_them() -> anyhow::Result<()> {
    use boai_store::demo::indexes;
    let (store, _, _db) = store().await?;
    let before = indexes::secondary_indexes(&store, &BULK).await?;
    let names: Vec<&str> = before.iter().map(|i| i.name.as_str()).collect();
    for name in ["gifts_org", "gifts_donor", "journal_lines_account", "audit_log_entity"] {
        assert!(names.contains(&name), "{name} is among {names:?}");
    }
    assert!(
        !names.contains(&"journal_entries_ledger_index"),
        "a unique index is not deferred"
    );
    let dropped = indexes::defer(&store, &BULK).await?;
    assert_eq!(dropped, before);
    assert!(indexes::secondary_indexes(&store, &BULK).await?.is_empty());
    assert!(indexes::any_deferred(&store).await?);
    assert!(
        indexes::defer(&store, &BULK).await.is_err(),
        "deferring twice is refused"
    );
    assert_eq!(indexes::restore_deferred(&store).await?, before.len());
    assert_eq!(indexes::secondary_indexes(&store, &BULK).await?, before);
    assert!(!indexes::any_deferred(&store).await?);
    assert_eq!(indexes::restore_deferred(&store).await?, 0);
    Ok(())
}

/// A seeding stopped between deferring and rebuilding leaves the record;
/// the next start's `migrate` rebuilds the indexes.
#[tokio::test]
async fn migrate_rebuilds_indexes_a_stopped_seeding_left_deferred() -> anyhow::Result<()> {
    use boai_store::demo::indexes;
    let (store, _, _db) = store().await?;
    let before = indexes::secondary_indexes(&store, &BULK).await?;
    indexes::defer(&store, &BULK).await?;
    store.migrate().await?;
    assert_eq!(indexes::secondary_indexes(&store, &BULK).await?, before);
    assert!(!indexes::any_deferred(&store).await?);
    Ok(())
}

/// The demo builds its gifts without their secondary indexes and leaves
/// every one of them in place, as on a database the migrations alone made.
#[tokio::test]
async fn the_seeded_demo_has_every_index_the_migrations_made() -> anyhow::Result<()> {
    use boai_store::demo::indexes;
    let (fresh, _, _fresh_db) = store().await?;
    let (seeded, _, _db) = demo_store().await?;
    assert_eq!(
        indexes::secondary_indexes(&seeded, &BULK).await?,
        indexes::secondary_indexes(&fresh, &BULK).await?
    );
    assert!(!indexes::any_deferred(&seeded).await?);
    Ok(())
}
