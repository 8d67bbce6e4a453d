//! The grassroots network in the store, on the backend the testkit picks:
//! the demo network's shape, seeding time, audit chain, status rules, the
//! pass mark.

use boai_domain::network::{PassMark, UnitDetails, UnitStatus};
use boai_domain::validation::identity::CreditCode;
use boai_store::audit::AuditVerdict;
use boai_store::demo::network::UNITS_PER_DISTRICT;
use boai_store::demo::{org_id, DISTRICTS};
use boai_store::network::UnitFilter;
use boai_store::StoreError;
use boai_testkit::{actor, store, PASSWORD};
use std::collections::HashSet;
use std::time::Instant;

#[tokio::test]
async fn demo_network_has_2328_valid_units_and_an_intact_chain() -> anyhow::Result<()> {
    let (store, _, _db) = store().await?;
    let started = Instant::now();
    assert!(boai_store::demo::seed(&store, PASSWORD, boai_testkit::DEMO_GIFTS, |_, _| {}).await?);
    eprintln!(
        "demo seeding took {:?} on {}",
        started.elapsed(),
        boai_testkit::backend()
    );
    assert_eq!(UNITS_PER_DISTRICT.iter().sum::<usize>(), 2_328);
    let shi = store.scoped(actor(&store, "shi").await?);
    let units = shi.network_units(&UnitFilter::default()).await?;
    assert_eq!(units.len(), 2_328);
    for ((code, _, _), n) in DISTRICTS.iter().zip(UNITS_PER_DISTRICT) {
        assert_eq!(
            units.iter().filter(|u| u.branch_id == Some(org_id(code))).count(),
            n,
            "{code}"
        );
    }
    let codes: Vec<&CreditCode> = units.iter().filter_map(|u| u.details.credit_code.as_ref()).collect();
    assert!(codes.len() > 1_800, "most units have a credit code: {}", codes.len());
    assert!(codes.iter().all(|c| CreditCode::parse(c.as_str()).is_ok()));
    assert_eq!(codes.iter().collect::<HashSet<_>>().len(), codes.len(), "unique");
    let kinds: HashSet<_> = units.iter().map(|u| u.kind).collect();
    assert_eq!(kinds.len(), 8, "every unit type occurs");
    let AuditVerdict::Intact { rows } = store.verify_audit(|_, _| {}).await? else {
        panic!("the seeded chain is broken")
    };
    assert!(rows > 2 * 2_328);
    // Deterministic: the first units are the same on every run and backend.
    let first = &units[0];
    assert_eq!(first.code, "JN-CQ-001");
    let lixia = store.scoped(actor(&store, "lixia").await?);
    let hers = lixia.network_units(&UnitFilter::default()).await?;
    assert_eq!(hers.len(), 186);
    assert!(hers.iter().all(|u| u.branch_id == Some(org_id("JN-LX"))));
    Ok(())
}

#[tokio::test]
async fn dissolution_is_final_and_dissolved_units_stay_put() -> anyhow::Result<()> {
    let (store, _, _db) = boai_testkit::demo_store().await?;
    let shi = store.scoped(actor(&store, "shi").await?);
    let unit = org_id("JN-LX-003");
    let view = shi.network_unit(unit).await?;
    let dissolved = UnitDetails {
        status: UnitStatus::Dissolved,
        ..view.details.clone()
    };
    shi.unit_update(unit, dissolved.clone()).await?;
    let back = UnitDetails {
        status: UnitStatus::Active,
        ..view.details.clone()
    };
    assert!(matches!(shi.unit_update(unit, back).await, Err(StoreError::Invalid(_))));
    assert!(matches!(
        shi.unit_move(unit, org_id("JN-SZ")).await,
        Err(StoreError::Invalid(_))
    ));
    // A credit code already used elsewhere is refused.
    let other = shi.network_units(&UnitFilter::default()).await?;
    let taken = other
        .iter()
        .find(|u| u.id != unit && u.details.credit_code.is_some())
        .and_then(|u| u.details.credit_code.clone());
    let dup = UnitDetails {
        credit_code: taken,
        ..dissolved
    };
    assert!(matches!(shi.unit_update(unit, dup).await, Err(StoreError::Invalid(_))));
    // District staff cannot touch another district's unit.
    let lixia = store.scoped(actor(&store, "lixia").await?);
    assert!(matches!(
        lixia.unit_update(org_id("JN-SZ-001"), UnitDetails::default()).await,
        Err(StoreError::NotFound)
    ));
    Ok(())
}

#[tokio::test]
async fn a_lower_pass_mark_passes_more_units() -> anyhow::Result<()> {
    let (store, _, _db) = boai_testkit::demo_store().await?;
    let admin = store.scoped(actor(&store, "admin").await?);
    let shi = store.scoped(actor(&store, "shi").await?);
    let passed = |units: &[boai_store::network::UnitSummary]| units.iter().filter(|u| u.score.passed).count();
    let strict = passed(&shi.network_units(&UnitFilter::default()).await?);
    assert!(matches!(
        shi.wuyou_set_pass_mark(PassMark::AtLeast(6)).await,
        Err(StoreError::Forbidden)
    ));
    admin.wuyou_set_pass_mark(PassMark::AtLeast(6)).await?;
    assert_eq!(store.wuyou_pass_mark().await?, PassMark::AtLeast(6));
    let lenient = passed(&shi.network_units(&UnitFilter::default()).await?);
    assert!(lenient > strict, "{lenient} > {strict}");
    Ok(())
}
