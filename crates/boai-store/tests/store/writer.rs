//! One gift writer: the same gifts (same inputs, same clock, the same
//! seeded draws of ids and salts) written through each way in — the
//! seeding writer (`write`, then batches prepared from memory), the group
//! commit behind `donation_create`, and `record_gift` (a batch of one, the
//! path of online payments and bank credits) — leave databases equal table
//! by table, row by row: gifts, donors, journal entries and lines, running
//! balances and project totals, public ledger entries and tree nodes,
//! sequences, the audit chain and its head.
//!
//! Compared: every table, as `boai backup` dumps it. Excluded: nothing. The
//! donors' encrypted phone and ID numbers are compared decrypted: AES-GCM
//! seals with a random nonce, so the same number is sealed differently each
//! time (and must be).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use boai_domain::fundraising::{Channel, DonationForCreate, DonorForCreate, Goods};
use boai_domain::ids::ProjectId;
use boai_domain::money::Fen;
use boai_domain::validation::identity::{credit_code_check_char, CreditCode, IdCardNo, Phone};
use boai_domain::Clock;
use boai_store::fundraising::bulk::{BulkGift, GiftInserter, Prepared};
use boai_store::funds::ProjectStatus;
use boai_store::{Actor, Page, Store, StoreError};
use boai_testkit::{actor, demo_store, TestDb};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use std::collections::BTreeMap;

/// The draws' seed, the same for every copy.
const SEED: u64 = 21;

/// The projects the gifts go to.
struct Projects {
    general: ProjectId,
    open: ProjectId,
    closed: ProjectId,
}

async fn projects(store: &Store, finance: &Actor) -> anyhow::Result<Projects> {
    let (general, _) = store.house_funds().await?;
    let (all, _) = store
        .scoped(finance.clone())
        .projects_list(&Default::default(), Page::new(Some(1), Some(100)))
        .await?;
    let open = all
        .iter()
        .find(|p| p.status == ProjectStatus::Open && p.id != general.id && p.kind != "management")
        .ok_or_else(|| anyhow::anyhow!("an open project"))?;
    let closed = all
        .iter()
        .find(|p| p.status == ProjectStatus::Closed)
        .ok_or_else(|| anyhow::anyhow!("a closed project"))?;
    Ok(Projects {
        general: general.id,
        open: open.id,
        closed: closed.id,
    })
}

fn gift(project: ProjectId, fen: i64, channel: Channel, donor: Option<DonorForCreate>) -> DonationForCreate {
    DonationForCreate {
        project_id: project,
        amount: Fen(fen),
        channel,
        donor,
        goods: None,
        received_on: None,
        note: None,
    }
}

fn person(name: &str, phone: Option<&str>, id_card: Option<&str>, public: bool) -> Option<DonorForCreate> {
    Some(DonorForCreate::Person {
        name: name.to_owned(),
        phone: phone.map(|p| Phone::parse(p).unwrap()),
        id_card: id_card.map(|c| IdCardNo::parse(c).unwrap()),
        public,
    })
}

fn organisation(name: &str, credit_code: Option<&str>) -> Option<DonorForCreate> {
    let credit_code =
        credit_code.map(|body| CreditCode::parse(&format!("{body}{}", credit_code_check_char(body).unwrap())).unwrap());
    Some(DonorForCreate::Organisation {
        name: name.to_owned(),
        credit_code,
        public: true,
    })
}

/// A gift to write, by the city's finance officer (`true`) or a district's.
type Planned = (bool, DonationForCreate);

/// The gifts of the first round (written at one instant: one group-commit
/// batch) and of the second (one a second), by the city's finance officer
/// (`true`) or a district's. The second round names only donors the
/// first one did, or none, so the seeding writer can prepare it from memory.
fn rounds(p: &Projects) -> (Vec<Planned>, Vec<Planned>) {
    let wang = || person("王芳", Some("13800138000"), Some("11010519491231002X"), true);
    let li = || person("李雷", Some("13900000001"), None, false);
    let company = || organisation("济南泉城科技有限公司", Some("91370100MA3C5YQX1"));
    let mut goods = gift(p.open, 88_000, Channel::Goods, organisation("无名商行", None));
    goods.goods = Some(Goods {
        item: "大米".to_owned(),
        quantity: 40,
        unit: "袋".to_owned(),
        value: Fen(88_000),
        lot: Some("L-7".to_owned()),
        expires_on: NaiveDate::from_ymd_opt(2027, 1, 31),
    });
    let mut dated = gift(p.general, 50_000, Channel::BankTransfer, company());
    dated.received_on = NaiveDate::from_ymd_opt(2025, 12, 30);
    dated.note = Some("银行流水 B-1".to_owned());
    let first = vec![
        (true, gift(p.general, 10_000, Channel::Cash, None)),
        (true, gift(p.open, 20_000, Channel::Wechat, wang())),
        (false, gift(p.general, 3_000, Channel::Cash, li())),
        (true, gift(p.open, 4_500, Channel::Online, wang())),
        (true, goods),
        (false, dated),
    ];
    let second = vec![
        (true, gift(p.open, 7_700, Channel::Cheque, company())),
        (false, gift(p.general, 100, Channel::Cash, None)),
        (true, gift(p.general, 12_345, Channel::Alipay, li())),
        (true, gift(p.open, 999_999, Channel::Cash, wang())),
    ];
    (first, second)
}

/// How the gifts go in.
#[derive(Debug, Clone, Copy)]
enum Way {
    /// The seeding writer: the first round by `write`, the second prepared
    /// from memory and inserted by the inserter.
    Seeding,
    /// `donation_create`: the first round at once (one batch), the second
    /// one by one, its first gift in a batch with a gift to a closed project
    /// (refused: each gift then goes alone, in a savepoint).
    GroupCommit,
    /// `record_gift`, each gift in a transaction of its own.
    RecordGift,
}

/// A fresh demo copy with `way`'s gifts written; answers the copy, to keep
/// it until compared.
async fn write(way: Way) -> anyhow::Result<(Store, TestDb)> {
    let (store, clock, db) = demo_store().await?;
    let store = store.with_seeded_draws(SEED);
    let finance = actor(&store, "caiwu").await?;
    // A district branch's finance officer (the demo has district staff
    // only, who may not record gifts).
    let district = Actor {
        role: boai_domain::accounts::Role::Finance,
        ..actor(&store, "lixia").await?
    };
    let p = projects(&store, &finance).await?;
    let (first, second) = rounds(&p);
    let who = |city: bool| if city { finance.clone() } else { district.clone() };
    let t0 = clock.now() + Duration::seconds(1);
    let at = |i: usize| t0 + Duration::seconds(i as i64);
    let refused = gift(p.closed, 500, Channel::Cash, person("退回", None, None, true));
    let bulk = |gifts: &[Planned], at: &dyn Fn(usize) -> DateTime<Utc>| -> Vec<BulkGift> {
        gifts
            .iter()
            .enumerate()
            .map(|(i, (city, input))| BulkGift {
                at: at(i),
                actor: who(*city),
                input: input.clone(),
            })
            .collect()
    };
    match way {
        Way::Seeding => {
            let mut writer = store.bulk_gift_writer().await?;
            writer.write(&store, bulk(&first, &|_| t0)).await?;
            writer.reload(&store).await?;
            let Prepared::Ready(prepared) = writer.prepare(&store, bulk(&second, &|i| at(i + 1)))? else {
                anyhow::bail!("the second round names only known donors: it is prepared from memory");
            };
            assert_eq!(prepared.len(), second.len());
            let mut inserter = GiftInserter::start(&store);
            inserter.insert(prepared).await?;
            inserter.finish().await?;
        }
        Way::GroupCommit => {
            clock.advance(Duration::seconds(1));
            let scoped: Vec<_> = first.iter().map(|(city, _)| store.scoped(who(*city))).collect();
            let batch = scoped
                .iter()
                .zip(&first)
                .map(|(scoped, (_, input))| scoped.donation_create(input.clone(), None));
            for written in futures_util::future::join_all(batch).await {
                written?;
            }
            for (i, (city, input)) in second.iter().enumerate() {
                clock.advance(Duration::seconds(1));
                let scoped = store.scoped(who(*city));
                if i > 0 {
                    scoped.donation_create(input.clone(), None).await?;
                    continue;
                }
                // With a gift refused in the same batch: each on its own.
                let closed = store.scoped(finance.clone());
                let (closed, written) = futures_util::future::join(
                    closed.donation_create(refused.clone(), None),
                    scoped.donation_create(input.clone(), None),
                )
                .await;
                assert!(matches!(closed, Err(StoreError::Invalid(_))), "{closed:?}");
                written?;
            }
        }
        Way::RecordGift => {
            for (city, input) in &first {
                store.scoped(who(*city)).record_gift_alone(input.clone(), t0).await?;
            }
            let closed = store.scoped(finance.clone()).record_gift_alone(refused, at(1)).await;
            assert!(matches!(closed, Err(StoreError::Invalid(_))), "{closed:?}");
            for (i, (city, input)) in second.iter().enumerate() {
                store
                    .scoped(who(*city))
                    .record_gift_alone(input.clone(), at(i + 1))
                    .await?;
            }
        }
    }
    Ok((store, db))
}

/// Every table as `boai backup` writes it (JSON lines in key order), the
/// donors' sealed numbers opened.
async fn dump(store: &Store) -> anyhow::Result<BTreeMap<String, Vec<String>>> {
    let dir = std::env::temp_dir().join(format!("boai-writer-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir)?;
    store.export_tables(&dir, &mut |_, _| {}).await?;
    let mut out = BTreeMap::new();
    for table in boai_store::backup::TABLES {
        let text = std::fs::read_to_string(dir.join(format!("{table}.jsonl")))?;
        let mut lines = Vec::new();
        for line in text.lines() {
            if *table != "donors" {
                lines.push(line.to_owned());
                continue;
            }
            let mut row: serde_json::Value = serde_json::from_str(line)?;
            for column in ["phone_enc", "id_card_enc"] {
                if let Some(sealed) = row[column].as_str() {
                    let open = store.secrets().decrypt(sealed).expect("a donor's number opens");
                    row[column] = serde_json::Value::String(format!("opened: {open}"));
                }
            }
            lines.push(row.to_string());
        }
        out.insert((*table).to_owned(), lines);
    }
    std::fs::remove_dir_all(&dir)?;
    Ok(out)
}

/// Asserts the two dumps equal, naming the first row that differs (tables
/// in creation order: the gifts' own before the audit chain that hashes them).
fn assert_same(left: &BTreeMap<String, Vec<String>>, right: &BTreeMap<String, Vec<String>>, what: &str) {
    for table in boai_store::backup::TABLES {
        let (rows, other) = (&left[*table], &right[*table]);
        for (i, (a, b)) in rows.iter().zip(other).enumerate() {
            assert_eq!(a, b, "{what}: table {table}, row {i}");
        }
        assert_eq!(rows.len(), other.len(), "{what}: table {table}, rows");
    }
}

async fn gifts_written(store: &Store, before: &BTreeMap<String, Vec<String>>) -> anyhow::Result<()> {
    let after = dump(store).await?;
    // Ten gifts, their entries, lines, ledger entries; the refused gift
    // left nothing.
    assert_eq!(after["gifts"].len(), before["gifts"].len() + 10);
    assert_eq!(after["journal_entries"].len(), before["journal_entries"].len() + 10);
    assert_eq!(after["journal_lines"].len(), before["journal_lines"].len() + 20);
    assert_eq!(after["ledger_entries"].len(), before["ledger_entries"].len() + 10);
    // 王芳, 李雷, the company and the unnamed trader: four new donors.
    assert_eq!(after["donors"].len(), before["donors"].len() + 4);
    let books = store.books_check().await?;
    assert!(books.holds(), "{books:?}");
    let report = store.ledger_check(None, None, &|_, _| {}).await?;
    assert!(report.holds(), "{:?}", report.problems);
    assert!(matches!(
        store.verify_audit(|_, _| {}).await?,
        boai_store::audit::AuditVerdict::Intact { .. }
    ));
    Ok(())
}

/// Writes the gifts `way` and through `record_gift` into two fresh demo
/// copies: both hold every check, and they are equal table by table.
async fn same_rows_as_record_gift(way: Way) -> anyhow::Result<()> {
    let (empty, _, _empty_db) = demo_store().await?;
    let before = dump(&empty).await?;
    let (written, _written_db) = write(way).await?;
    let (one, _one_db) = write(Way::RecordGift).await?;
    gifts_written(&written, &before).await?;
    gifts_written(&one, &before).await?;
    let (written, one) = (dump(&written).await?, dump(&one).await?);
    assert_same(&written, &one, &format!("{way:?} vs record_gift"));
    Ok(())
}

/// The seeding writer (a batch by `write`, a batch prepared from memory)
/// and `record_gift` write the same bytes.
#[tokio::test]
async fn seeding_writer_and_record_gift_write_the_same_rows() -> anyhow::Result<()> {
    same_rows_as_record_gift(Way::Seeding).await
}

/// The group commit (a batch at once, a refused gift failing alone through
/// the savepoint path, then gifts one by one) and `record_gift` write the
/// same bytes.
#[tokio::test]
async fn group_commit_and_record_gift_write_the_same_rows() -> anyhow::Result<()> {
    same_rows_as_record_gift(Way::GroupCommit).await
}

/// A gift the plan refuses (no amount) is refused alike on both paths,
/// with the same field error, and writes nothing.
#[tokio::test]
async fn a_refused_amount_is_refused_alike() -> anyhow::Result<()> {
    let (store, clock, _db) = demo_store().await?;
    let caiwu = actor(&store, "caiwu").await?;
    let p = projects(&store, &caiwu).await?;
    let finance = store.scoped(caiwu);
    let before = store.gift_count().await?;
    let nothing = gift(p.general, 0, Channel::Cash, None);
    let alone = finance.record_gift_alone(nothing.clone(), clock.now()).await;
    let batched = finance.donation_create(nothing, None).await;
    let (Err(StoreError::Invalid(alone)), Err(StoreError::Invalid(batched))) = (&alone, &batched) else {
        anyhow::bail!("{alone:?}, {batched:?}");
    };
    assert_eq!(alone, batched);
    assert_eq!(alone.0[0].field, "amount_fen");
    assert_eq!(store.gift_count().await?, before);
    Ok(())
}
