//! The books always hold: random sequences of gifts, allocations,
//! disbursements, refunds and goods movements keep the trial balance
//! balanced, running balances equal to sums over the journal, and no fund
//! overdrawn — on the backend the testkit picks.

use boai_domain::fundraising::{Channel, DonationForCreate, Goods};
use boai_domain::ids::{GiftId, ProjectId};
use boai_domain::money::Fen;
use boai_store::funds::{ProjectForCreate, ProjectStatus};
use boai_store::{ScopedStore, StoreError};
use boai_testkit::{actor, backend, demo_store};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Gift { fund: usize, fen: i64 },
    GoodsIn { fund: usize, fen: i64 },
    Allocate { to: usize, fen: i64 },
    Disburse { fund: usize, fen: i64 },
    GoodsOut { fund: usize, fen: i64 },
    Refund { gift: usize, fen: i64 },
    Transfer { fen: i64 },
    ManagementCost { fund: usize, fen: i64 },
}

fn op() -> impl Strategy<Value = Op> {
    let fund = 0usize..4;
    let fen = 1i64..2_000_000;
    prop_oneof![
        3 => (fund.clone(), fen.clone()).prop_map(|(fund, fen)| Op::Gift { fund, fen }),
        1 => (fund.clone(), fen.clone()).prop_map(|(fund, fen)| Op::GoodsIn { fund, fen }),
        2 => (1usize..4, fen.clone()).prop_map(|(to, fen)| Op::Allocate { to, fen }),
        2 => (fund.clone(), fen.clone()).prop_map(|(fund, fen)| Op::Disburse { fund, fen }),
        1 => (fund.clone(), fen.clone()).prop_map(|(fund, fen)| Op::GoodsOut { fund, fen }),
        1 => (0usize..50, fen.clone()).prop_map(|(gift, fen)| Op::Refund { gift, fen }),
        1 => fen.clone().prop_map(|fen| Op::Transfer { fen }),
        1 => (fund, fen).prop_map(|(fund, fen)| Op::ManagementCost { fund, fen }),
    ]
}

/// Runs one operation; a refusal (overdraft, over-refund) is fine, as long
/// as it leaves the books as they were.
async fn apply(s: &ScopedStore, funds: &[ProjectId], gifts: &mut Vec<GiftId>, op: &Op) -> Result<(), StoreError> {
    let result = match *op {
        Op::Gift { fund, fen } => s
            .donation_create(
                DonationForCreate {
                    project_id: funds[fund],
                    amount: Fen(fen),
                    channel: Channel::BankTransfer,
                    donor: None,
                    goods: None,
                    received_on: None,
                    note: None,
                },
                None,
            )
            .await
            .map(|g| gifts.push(g.id)),
        Op::GoodsIn { fund, fen } => s
            .donation_create(
                DonationForCreate {
                    project_id: funds[fund],
                    amount: Fen(fen),
                    channel: Channel::Goods,
                    donor: None,
                    goods: Some(Goods {
                        item: "棉被".into(),
                        quantity: 3,
                        unit: "床".into(),
                        value: Fen(fen),
                        lot: None,
                        expires_on: None,
                    }),
                    received_on: None,
                    note: None,
                },
                None,
            )
            .await
            .map(|g| gifts.push(g.id)),
        Op::Allocate { to, fen } => s
            .allocate(funds[0], funds[to], Fen(fen), "执委会决议")
            .await
            .map(|_| ()),
        Op::Disburse { fund, fen } => s.disburse(funds[fund], Fen(fen), "受助人 #1", None).await.map(|_| ()),
        Op::GoodsOut { fund, fen } => s.goods_out(funds[fund], Fen(fen), "受灾群众", None).await.map(|_| ()),
        Op::Refund { gift, fen } => match gifts.get(gift) {
            Some(id) => s.donation_refund(*id, Fen(fen), "捐赠人要求").await.map(|_| ()),
            None => Ok(()),
        },
        Op::Transfer { fen } => s.transfer(funds[0], funds[4], Fen(fen), "划转").await.map(|_| ()),
        Op::ManagementCost { fund, fen } => s.charge_management_cost(funds[fund], Fen(fen)).await.map(|_| ()),
    };
    match result {
        Ok(()) | Err(StoreError::Invalid(_)) => Ok(()),
        Err(e) => Err(e),
    }
}

#[test]
fn random_movements_keep_the_books() -> anyhow::Result<()> {
    eprintln!("backend: {}", backend());
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let (store, _clock, _db) = rt.block_on(demo_store())?;
    let finance = rt.block_on(async { actor(&store, "caiwu").await })?;
    let s = store.scoped(finance.clone());
    let (general, _) = rt.block_on(store.house_funds())?;
    let mut funds = vec![general.id];
    for (i, rate) in [(1, 0), (2, 500), (3, 1000)] {
        let p = rt.block_on(s.project_create(ProjectForCreate {
            code: format!("PT-{i}"),
            name: format!("测试项目 {i}"),
            kind: "relief".into(),
            designated: true,
            status: ProjectStatus::Open,
            target: None,
            starts_on: None,
            ends_on: None,
            org_id: finance.org_id,
            management_rate_bp: rate,
        }))?;
        funds.push(p.id);
    }
    let undesignated = rt.block_on(s.project_create(ProjectForCreate {
        code: "PT-FREE".into(),
        name: "非定向备用金".into(),
        kind: "campaign".into(),
        designated: false,
        status: ProjectStatus::Open,
        target: None,
        starts_on: None,
        ends_on: None,
        org_id: finance.org_id,
        management_rate_bp: 0,
    }))?;
    funds.push(undesignated.id);

    let entries_before = rt.block_on(store.books_check())?.entries;
    let cases = if backend() == "postgres" { 12 } else { 24 };
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases,
        ..ProptestConfig::default()
    });
    runner
        .run(&proptest::collection::vec(op(), 1..25), |ops| {
            rt.block_on(async {
                let mut gifts = Vec::new();
                for op in &ops {
                    apply(&s, &funds, &mut gifts, op)
                        .await
                        .map_err(|e| TestCaseError::fail(format!("{op:?}: {e}")))?;
                }
                let report = store
                    .books_check()
                    .await
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert!(
                    report.trial_balance.balanced(),
                    "trial balance {:?}",
                    report.trial_balance
                );
                prop_assert!(
                    report.mismatched_accounts.is_empty(),
                    "{:?}",
                    report.mismatched_accounts
                );
                prop_assert!(report.unbalanced_entries.is_empty(), "{:?}", report.unbalanced_entries);
                prop_assert!(report.overdrawn_accounts.is_empty(), "{:?}", report.overdrawn_accounts);
                // Designated money never left its project: what a designated
                // project holds is never less than zero, and its totals add up.
                for b in s
                    .fund_balances()
                    .await
                    .map_err(|e| TestCaseError::fail(e.to_string()))?
                {
                    prop_assert!(b.money.0 >= 0 && b.goods.0 >= 0);
                    let p = &b.project;
                    prop_assert_eq!(p.raised.0 + p.allocated.0 - p.spent.0, b.net_assets.0, "{}", p.name);
                }
                // The public ledger mirrors every entry, and its sums are the portal's totals.
                let fail = |e: boai_store::StoreError| TestCaseError::fail(e.to_string());
                let ledger = store.ledger_check(None, None, &|_, _| {}).await.map_err(fail)?;
                prop_assert!(ledger.holds(), "{:?}", ledger.problems);
                let published = store.ledger_published_totals().await.map_err(fail)?;
                let sums = store.ledger_sums(published.ledger_size).await.map_err(fail)?;
                for p in &published.projects {
                    prop_assert_eq!(
                        sums.get(&p.project_id).copied().unwrap_or_default(),
                        p.totals,
                        "{}",
                        &p.name
                    );
                }
                Ok(())
            })
        })
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let entries_after = rt.block_on(store.books_check())?.entries;
    eprintln!("entries posted by the random runs: {}", entries_after - entries_before);
    assert!(entries_after > entries_before + 40, "the runs must really post entries");
    Ok(())
}

#[tokio::test]
async fn overdrafts_and_over_refunds_are_refused_and_change_nothing() -> anyhow::Result<()> {
    let (store, _, _db) = demo_store().await?;
    let finance = store.scoped(actor(&store, "caiwu").await?);
    let (general, _) = store.house_funds().await?;
    let gift = finance
        .donation_create(
            DonationForCreate {
                project_id: general.id,
                amount: Fen(10_000),
                channel: Channel::Cash,
                donor: None,
                goods: None,
                received_on: None,
                note: None,
            },
            None,
        )
        .await?;
    let before = store.books_check().await?;
    let huge = Fen(general.raised.0 + 10_000_000_000);
    assert!(matches!(
        finance.disburse(general.id, huge, "x", None).await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        finance.donation_refund(gift.id, Fen(10_001), "x").await,
        Err(StoreError::Invalid(_))
    ));
    finance.donation_refund(gift.id, Fen(4_000), "部分退款").await?;
    assert!(matches!(
        finance.donation_refund(gift.id, Fen(6_001), "x").await,
        Err(StoreError::Invalid(_))
    ));
    let after = finance.donation_refund(gift.id, Fen(6_000), "余额退款").await?;
    assert_eq!(after.status.as_str(), "refunded");
    let report = store.books_check().await?;
    assert!(report.holds(), "{report:?}");
    assert_eq!(report.entries, before.entries + 2, "only the two refunds were written");
    // Designated money cannot be allocated away.
    let cataract = finance
        .projects_list(&Default::default(), boai_store::Page::new(Some(1), Some(100)))
        .await?
        .0;
    let cataract = cataract
        .iter()
        .find(|p| p.code == "CATARACT")
        .map(|p| p.id)
        .unwrap_or(general.id);
    assert!(matches!(
        finance.allocate(cataract, general.id, Fen(1), "x").await,
        Err(StoreError::Invalid(_))
    ));
    Ok(())
}

#[tokio::test]
async fn concurrent_gifts_and_allocations_all_commit() -> anyhow::Result<()> {
    use boai_domain::fundraising::DonorForCreate;
    let (store, _, _db) = demo_store().await?;
    let finance = store.scoped(actor(&store, "caiwu").await?);
    let (general, _) = store.house_funds().await?;
    let projects = finance
        .projects_list(&Default::default(), boai_store::Page::new(Some(1), Some(100)))
        .await?
        .0;
    let relief: Vec<ProjectId> = projects.iter().filter(|p| p.kind == "relief").map(|p| p.id).collect();
    let mut tasks = Vec::new();
    for t in 0..12usize {
        let s = finance.clone();
        let relief = relief.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..4usize {
                let donor = (i % 2 == 0).then(|| DonorForCreate::Person {
                    name: format!("并发捐赠人{t}-{i}"),
                    phone: None,
                    id_card: None,
                    public: false,
                });
                let fund = if i % 2 == 0 {
                    general.id
                } else {
                    relief[(t + i) % relief.len()]
                };
                s.donation_create(
                    DonationForCreate {
                        project_id: fund,
                        amount: Fen(10_000 + i as i64),
                        channel: Channel::Cash,
                        donor,
                        goods: None,
                        received_on: None,
                        note: None,
                    },
                    None,
                )
                .await?;
                match s
                    .allocate(general.id, relief[(t * 3 + i) % relief.len()], Fen(100), "并发分配")
                    .await
                {
                    Ok(_) | Err(StoreError::Invalid(_)) => {}
                    Err(e) => return Err(e),
                }
            }
            Ok::<_, StoreError>(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let report = store.books_check().await?;
    assert!(report.holds(), "{report:?}");
    assert!(matches!(
        store.verify_audit(|_, _| {}).await?,
        boai_store::audit::AuditVerdict::Intact { .. }
    ));
    Ok(())
}
