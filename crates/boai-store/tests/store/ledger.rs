//! The public ledger in the database: every journal entry is logged in the
//! same transaction, proofs verify, and `ledger check` reports tampering
//! (edited amounts, deleted rows, reordered entries, a rolled-back database)
//! — on the backend the testkit picks.

use boai_domain::fundraising::{Channel, DonationForCreate};
use boai_domain::money::Fen;
use boai_ledger::tree::{check_consistency, check_inclusion, left_siblings};
use boai_ledger::{LedgerSigner, VerifierKey};
use boai_store::Store;
use boai_testkit::{actor, demo_store};
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};

async fn exec(db: &DatabaseConnection, sql: &str) -> anyhow::Result<u64> {
    let backend = db.get_database_backend();
    Ok(db.execute(Statement::from_string(backend, sql)).await?.rows_affected())
}

async fn gift(store: &Store, fen: i64) -> anyhow::Result<boai_store::fundraising::Gift> {
    let finance = store.scoped(actor(store, "caiwu").await?);
    let (general, _) = store.house_funds().await?;
    Ok(finance
        .donation_create(
            DonationForCreate {
                project_id: general.id,
                amount: Fen(fen),
                channel: Channel::Cash,
                donor: None,
                goods: None,
                received_on: None,
                note: None,
            },
            None,
        )
        .await?)
}

/// Cash gifts to `project` recorded by `actor`, one per `i` in `range`, a
/// second apart and ending 10,000 s before `now`, from `donor(i)`.
fn cash_batch(
    actor: &boai_store::Actor,
    project: boai_domain::ids::ProjectId,
    now: chrono::DateTime<chrono::Utc>,
    range: std::ops::Range<u64>,
    donor: &dyn Fn(u64) -> Option<boai_domain::fundraising::DonorForCreate>,
) -> Vec<boai_store::fundraising::bulk::BulkGift> {
    range
        .map(|i| boai_store::fundraising::bulk::BulkGift {
            at: now - chrono::Duration::seconds(10_000 - i as i64),
            actor: actor.clone(),
            input: DonationForCreate {
                project_id: project,
                amount: Fen(100 + i as i64),
                channel: Channel::Cash,
                donor: donor(i),
                goods: None,
                received_on: None,
                note: None,
            },
        })
        .collect()
}

/// The ledger and the gifts have the sizes expected; the books, the ledger
/// check and the audit chain hold; and a fresh process reads the digest the
/// writer left, which is the entries' own sums.
async fn added_and_every_check_holds(store: &Store, url: &str, size: u64, gifts: u64) -> anyhow::Result<()> {
    assert_eq!(store.ledger_size().await?, size);
    assert_eq!(store.gift_count().await?, gifts);
    let books = store.books_check().await?;
    assert!(books.holds(), "{books:?}");
    let report = store.ledger_check(None, None, &|_, _| {}).await?;
    assert!(report.holds(), "{:?}", report.problems);
    assert_eq!(report.entries_checked, size);
    assert!(matches!(
        store.verify_audit(|_, _| {}).await?,
        boai_store::audit::AuditVerdict::Intact { .. }
    ));
    // A fresh process starts from the digest the writer left, and it is the
    // entries' own sums.
    let fresh = Store::connect(url, std::sync::Arc::new(boai_domain::clock::SystemClock)).await?;
    let digest = fresh.ledger_digest(size).await?;
    assert_eq!(digest.size, size);
    assert_eq!(digest.totals, store.ledger_sums(size).await?);
    Ok(())
}

fn signer() -> anyhow::Result<(LedgerSigner, VerifierKey)> {
    let (_, signer) = LedgerSigner::generate("boai.example/jinan")?;
    let key = VerifierKey::parse(signer.verifier_key())?;
    Ok((signer, key))
}

#[tokio::test]
async fn every_entry_is_logged_and_the_check_holds() -> anyhow::Result<()> {
    let (store, _, _db) = demo_store().await?;
    let (signer, key) = signer()?;
    let books = store.books_check().await?;
    let size = store.ledger_size().await?;
    assert_eq!(size, books.entries, "one ledger entry per journal entry");
    let g = gift(&store, 123_456).await?;
    let index = g
        .ledger_index
        .ok_or_else(|| anyhow::anyhow!("a gift has its ledger index"))? as u64;
    assert_eq!(index, size);
    let signed = store.ledger_sign(&signer).await?;
    assert_eq!(signed.size, size + 1);
    let opened = key.open(signed.note.as_bytes())?;
    assert_eq!((opened.size, opened.root), (signed.size, signed.root));
    // The gift's entry is public and says only public things.
    let body = store
        .ledger_entry(index)
        .await?
        .ok_or_else(|| anyhow::anyhow!("entry"))?;
    let entry = boai_ledger::LedgerEntry::from_canonical(&body)?;
    assert_eq!(
        (entry.kind.as_str(), entry.amount_fen, entry.donor.as_deref()),
        ("gift", 123_456, Some("匿名"))
    );
    assert_eq!(entry.journal_id, g.journal_entry_id.to_string());
    assert!(entry.commitment.is_some());
    // Inclusion and consistency proofs verify.
    let proof = store.ledger_inclusion(index, signed.size).await?;
    check_inclusion(
        &proof.path,
        signed.size,
        signed.root,
        index,
        boai_ledger::tree::leaf_hash(&body),
    )?;
    // Against the signed root: the same path; against any other root, refused.
    let against = store.ledger_inclusion_in(index, signed.size, signed.root).await?;
    assert_eq!((against.path, against.leaf), (proof.path.clone(), proof.leaf));
    assert!(store
        .ledger_inclusion_in(index, signed.size, boai_ledger::tree::leaf_hash(b"not the root"))
        .await
        .is_err());
    let old = size / 2;
    let old_root = store.ledger_root(old).await?;
    let consistency = store.ledger_consistency(signed.size, old).await?;
    check_consistency(&consistency, signed.size, signed.root, old, old_root)?;
    // The check holds, and portal totals equal the entries' sums.
    let report = store.ledger_check(Some(&key), Some(&signed), &|_, _| {}).await?;
    assert!(report.holds(), "{:?}", report.problems);
    assert_eq!(report.entries_checked, size + 1);
    let published = store.ledger_published_totals().await?;
    let sums = store.ledger_sums(published.ledger_size).await?;
    for p in &published.projects {
        assert_eq!(
            sums.get(&p.project_id).copied().unwrap_or_default(),
            p.totals,
            "{}",
            p.name
        );
    }
    Ok(())
}

async fn tampered(sql: &[&str]) -> anyhow::Result<Vec<String>> {
    let (store, _, db) = demo_store().await?;
    let (signer, key) = signer()?;
    gift(&store, 50_000).await?;
    let signed = store.ledger_sign(&signer).await?;
    assert!(store.ledger_check(Some(&key), Some(&signed), &|_, _| {}).await?.holds());
    let raw = db.raw().await?;
    for s in sql {
        let changed = exec(&raw, s).await?;
        assert!(changed > 0, "tampering must change something: {s}");
    }
    let report = store.ledger_check(Some(&key), Some(&signed), &|_, _| {}).await?;
    assert!(!report.holds(), "tampering with {sql:?} went unnoticed");
    Ok(report.problems)
}

#[tokio::test]
async fn an_edited_gift_amount_is_reported() -> anyhow::Result<()> {
    let problems = tampered(&["UPDATE gifts SET amount_fen = amount_fen + 100 WHERE amount_fen = 50000"]).await?;
    assert!(
        problems.iter().any(|p| p.contains("differ from its journal entry")),
        "{problems:?}"
    );
    Ok(())
}

#[tokio::test]
async fn an_edited_journal_amount_is_reported() -> anyhow::Result<()> {
    let problems = tampered(&["UPDATE journal_entries SET amount_fen = 1 WHERE amount_fen = 50000"]).await?;
    assert!(
        problems.iter().any(|p| p.contains("does not match journal entry")),
        "{problems:?}"
    );
    Ok(())
}

#[tokio::test]
async fn an_edited_ledger_entry_is_reported() -> anyhow::Result<()> {
    let problems =
        tampered(&["UPDATE ledger_entries SET body = (SELECT body FROM ledger_entries WHERE idx = 0) WHERE idx = 1"])
            .await?;
    assert!(!problems.is_empty());
    Ok(())
}

#[tokio::test]
async fn deleted_rows_are_reported() -> anyhow::Result<()> {
    let problems = tampered(&[
        "DELETE FROM journal_lines WHERE entry_id IN (SELECT journal_entry_id FROM gifts WHERE amount_fen = 50000)",
    ])
    .await?;
    assert!(
        problems.iter().any(|p| p.contains("its lines move net assets")),
        "{problems:?}"
    );
    assert!(
        problems.iter().any(|p| p.contains("the books do not hold")),
        "{problems:?}"
    );
    let problems = tampered(&["DELETE FROM ledger_entries WHERE idx = 3"]).await?;
    assert!(problems.iter().any(|p| p.contains("missing")), "{problems:?}");
    Ok(())
}

#[tokio::test]
async fn reordered_entries_are_reported() -> anyhow::Result<()> {
    // Swap two entries' places (bodies and journal links), as a rewrite of history would.
    let problems = tampered(&[
        "UPDATE ledger_entries SET idx = -1 WHERE idx = 4",
        "UPDATE ledger_entries SET idx = 4 WHERE idx = 5",
        "UPDATE ledger_entries SET idx = 5 WHERE idx = -1",
        "UPDATE journal_entries SET ledger_index = -1 WHERE ledger_index = 4",
        "UPDATE journal_entries SET ledger_index = 4 WHERE ledger_index = 5",
        "UPDATE journal_entries SET ledger_index = 5 WHERE ledger_index = -1",
    ])
    .await?;
    assert!(problems.iter().any(|p| p.contains("tree nodes differ")), "{problems:?}");
    assert!(problems.iter().any(|p| p.contains("checkpoint")), "{problems:?}");
    Ok(())
}

#[tokio::test]
async fn a_rolled_back_database_is_reported() -> anyhow::Result<()> {
    let (store, _, db) = demo_store().await?;
    let (signer, key) = signer()?;
    let before = store.ledger_sign(&signer).await?;
    gift(&store, 70_000).await?;
    let witness = store.ledger_sign(&signer).await?;
    assert_eq!(witness.size, before.size + 1);
    // Put the database back as an older copy would be: the last gift never happened.
    let raw = db.raw().await?;
    let last = witness.size - 1;
    let mut sql = vec![
        format!(
            "UPDATE accounts SET balance_fen = balance_fen - 70000 WHERE kind IN ('money', 'net_assets') \
             AND fund_id = (SELECT project_id FROM gifts WHERE ledger_index = {last})"
        ),
        format!("UPDATE projects SET raised_fen = raised_fen - 70000 WHERE id = (SELECT project_id FROM gifts WHERE ledger_index = {last})"),
        format!("DELETE FROM gifts WHERE ledger_index = {last}"),
        format!("DELETE FROM journal_lines WHERE entry_id IN (SELECT id FROM journal_entries WHERE ledger_index = {last})"),
        format!("DELETE FROM journal_entries WHERE ledger_index = {last}"),
        format!("DELETE FROM ledger_entries WHERE idx = {last}"),
        format!("DELETE FROM ledger_checkpoints WHERE size > {}", before.size),
        "UPDATE sequences SET value = value - 1 WHERE name = 'ledger'".to_owned(),
        format!("DELETE FROM ledger_nodes WHERE level = 0 AND idx = {last}"),
    ];
    for (i, _) in left_siblings(last).iter().enumerate() {
        sql.push(format!(
            "DELETE FROM ledger_nodes WHERE level = {} AND idx = {}",
            i + 1,
            last >> (i + 1)
        ));
    }
    for s in &sql {
        exec(&raw, s).await?;
    }
    // Without the witness the older copy is self-consistent…
    let blind = store.ledger_check(Some(&key), None, &|_, _| {}).await?;
    assert!(blind.holds(), "{:?}", blind.problems);
    // …but the checkpoint this server signed gives it away.
    let report = store.ledger_check(Some(&key), Some(&witness), &|_, _| {}).await?;
    assert!(
        report.problems.iter().any(|p| p.contains("rollback")),
        "{:?}",
        report.problems
    );
    Ok(())
}

#[tokio::test]
async fn tiles_are_served_only_within_the_tree() -> anyhow::Result<()> {
    let (store, _, _db) = demo_store().await?;
    let size = store.ledger_size().await?;
    assert!(size > 256, "the demo ledger spans more than one tile ({size})");
    let full = boai_ledger::TilePath::parse("tile/0/000")?;
    let tile = store
        .ledger_tile(full)
        .await?
        .ok_or_else(|| anyhow::anyhow!("first tile is full"))?;
    assert_eq!(tile.len(), 256 * 32);
    let bundle = store
        .ledger_tile(boai_ledger::TilePath::parse("tile/entries/000")?)
        .await?
        .ok_or_else(|| anyhow::anyhow!("bundle"))?;
    assert_eq!(boai_ledger::tiles::decode_bundle(&bundle)?.len(), 256);
    let beyond = boai_ledger::TilePath::parse("tile/0/x001/000")?;
    assert!(store.ledger_tile(beyond).await?.is_none());
    let level2 = boai_ledger::TilePath::parse("tile/2/000.p/1")?;
    assert!(store.ledger_tile(level2).await?.is_none());
    Ok(())
}

/// The bulk writer (`boai demo --gifts N`) writes what `record_gift` writes:
/// batches straight after one another (the frontier kept in memory), a staff
/// gift in between (the frontier read again), donors found again by ID
/// number, phone and name, or credit code; afterwards the books, the ledger
/// check and the audit chain hold, and the digest it leaves for the portal
/// equals the sums of the entries.
#[tokio::test]
async fn bulk_written_gifts_hold_every_check() -> anyhow::Result<()> {
    use boai_domain::fundraising::DonorForCreate;
    use boai_domain::validation::identity::{IdCardNo, Phone};
    let (store, clock, db) = demo_store().await?;
    let finance = actor(&store, "caiwu").await?;
    let (general, _) = store.house_funds().await?;
    assert!(IdCardNo::parse("11010519491231002X").is_ok());
    let size_before = store.ledger_size().await?;
    let gifts_before = store.gift_count().await?;
    let donor = |i: u64| match i % 4 {
        0 => None,
        1 => Some(DonorForCreate::Person {
            name: "王芳".to_owned(),
            phone: Phone::parse("13800138000").ok(),
            id_card: IdCardNo::parse("11010519491231002X").ok(),
            public: true,
        }),
        2 => Some(DonorForCreate::Person {
            name: format!("李{}", i % 3),
            phone: Phone::parse(&format!("1390000000{}", i % 3)).ok(),
            id_card: None,
            public: false,
        }),
        _ => Some(DonorForCreate::Organisation {
            name: "济南泉城科技有限公司".to_owned(),
            credit_code: boai_domain::validation::identity::credit_code_check_char("91370100MA3C5YQX1").and_then(|c| {
                boai_domain::validation::identity::CreditCode::parse(&format!("91370100MA3C5YQX1{c}")).ok()
            }),
            public: true,
        }),
    };
    let now = boai_domain::Clock::now(&clock);
    let batch = |from: u64, n: u64| cash_batch(&finance, general.id, now, from..from + n, &donor);
    let mut writer = store.bulk_gift_writer().await?;
    writer.write(&store, batch(0, 300)).await?;
    writer.write(&store, batch(300, 257)).await?;
    gift(&store, 4_242).await?;
    writer.write(&store, batch(557, 300)).await?;
    writer.finish(&store).await?;

    added_and_every_check_holds(&store, &db.url, size_before + 858, gifts_before + 858).await?;
    // One donor per identity, however many batches named them.
    let raw = db.raw().await?;
    let backend = raw.get_database_backend();
    let row = raw
        .query_one(Statement::from_string(
            backend,
            "SELECT COUNT(*) AS n FROM donors WHERE name IN ('王芳', '李0', '李1', '李2', '济南泉城科技有限公司')",
        ))
        .await?
        .ok_or_else(|| anyhow::anyhow!("count"))?;
    assert_eq!(row.try_get::<i64>("", "n")?, 5);
    Ok(())
}

/// The seeding pipeline: batches prepared from memory go in through the
/// inserter while the next is built. A batch naming a donor not seen yet,
/// or prepared before `reload`, comes back for the database path; a batch
/// prepared from stale numbers (someone else wrote meanwhile) is refused
/// whole, leaving nothing of itself. After it all the ledger, the audit
/// chain and the books hold, and each donor is on file once.
#[tokio::test]
async fn prepared_batches_go_in_through_the_inserter_and_stale_ones_are_refused() -> anyhow::Result<()> {
    use boai_domain::fundraising::DonorForCreate;
    use boai_domain::validation::identity::Phone;
    use boai_store::fundraising::bulk::{GiftInserter, Prepared};
    let (store, clock, db) = demo_store().await?;
    let finance = actor(&store, "caiwu").await?;
    let (general, _) = store.house_funds().await?;
    let size_before = store.ledger_size().await?;
    let gifts_before = store.gift_count().await?;
    let now = boai_domain::Clock::now(&clock);
    let donor = |i: u64| {
        i.is_multiple_of(2).then(|| DonorForCreate::Person {
            name: format!("流水线{}", i % 5),
            phone: Phone::parse(&format!("1370000000{}", i % 5)).ok(),
            id_card: None,
            public: true,
        })
    };
    let batch = |from: u64, n: u64| cash_batch(&finance, general.id, now, from..from + n, &donor);
    let mut writer = store.bulk_gift_writer().await?;

    // Nothing read yet: the batch comes back as it was.
    let Prepared::NeedsDatabase(first) = writer.prepare(&store, batch(0, 40))? else {
        anyhow::bail!("a writer that has read nothing prepared a batch");
    };
    assert_eq!(first.len(), 40);
    writer.reload(&store).await?;
    // New donors: the database path.
    let Prepared::NeedsDatabase(first) = writer.prepare(&store, first)? else {
        anyhow::bail!("a batch with new donors was prepared from memory");
    };
    writer.write(&store, first).await?;
    // After `write` the numbers are read again before anything is prepared.
    assert!(matches!(
        writer.prepare(&store, batch(40, 1))?,
        Prepared::NeedsDatabase(_)
    ));
    writer.reload(&store).await?;
    let mut inserter = GiftInserter::start(&store);
    for from in [40, 140, 240] {
        let Prepared::Ready(prepared) = writer.prepare(&store, batch(from, 100))? else {
            anyhow::bail!("known donors and an open project, yet not prepared");
        };
        assert_eq!(prepared.len(), 100);
        inserter.insert(prepared).await?;
    }
    inserter.flush().await?;
    assert_eq!(store.ledger_size().await?, size_before + 340);

    // Someone else writes; a batch prepared without reading again collides
    // with their numbers and is refused whole.
    gift(&store, 777).await?;
    let Prepared::Ready(stale) = writer.prepare(&store, batch(340, 50))? else {
        anyhow::bail!("not prepared");
    };
    inserter.insert(stale).await?;
    assert!(inserter.finish().await.is_err(), "a stale batch went in");
    assert_eq!(store.ledger_size().await?, size_before + 341);
    assert_eq!(store.gift_count().await?, gifts_before + 341);

    // Read again, it goes in.
    writer.reload(&store).await?;
    let mut inserter = GiftInserter::start(&store);
    let Prepared::Ready(again) = writer.prepare(&store, batch(340, 50))? else {
        anyhow::bail!("not prepared after reload");
    };
    inserter.insert(again).await?;
    inserter.finish().await?;
    writer.finish(&store).await?;

    added_and_every_check_holds(&store, &db.url, size_before + 391, gifts_before + 391).await?;
    let raw = db.raw().await?;
    let row = raw
        .query_one(Statement::from_string(
            raw.get_database_backend(),
            "SELECT COUNT(*) AS n FROM donors WHERE name LIKE '流水线%'",
        ))
        .await?
        .ok_or_else(|| anyhow::anyhow!("count"))?;
    assert_eq!(row.try_get::<i64>("", "n")?, 5);
    Ok(())
}

/// The check walks the ledger a page (2,000 entries) at a time with only the
/// tree's right edge in memory. Over several pages, with checkpoints signed
/// at a page's end, just after it and further on, it holds (the witness a
/// prefix); and it still finds a stored node changed, a stored node the tree
/// has no place for, a journal entry no ledger entry mirrors, and a
/// checkpoint that does not match the entries.
#[tokio::test]
async fn the_check_pages_through_the_ledger_and_finds_tampering() -> anyhow::Result<()> {
    let (store, clock, db) = demo_store().await?;
    let (signer, key) = signer()?;
    let finance = actor(&store, "caiwu").await?;
    let (general, _) = store.house_funds().await?;
    let now = boai_domain::Clock::now(&clock);
    let batch = |from: u64, n: u64| cash_batch(&finance, general.id, now, from..from + n, &|_| None);
    let first = store.ledger_size().await?;
    assert!(first < 2_000, "the demo ledger fits in one page ({first})");
    let mut writer = store.bulk_gift_writer().await?;
    let mut signed = vec![store.ledger_sign(&signer).await?];
    let mut written = 0;
    for n in [2_000 - first, 1, 2_600] {
        writer.write(&store, batch(written, n)).await?;
        written += n;
        signed.push(store.ledger_sign(&signer).await?);
    }
    writer.finish(&store).await?;
    let sizes: Vec<u64> = signed.iter().map(|c| c.size).collect();
    assert_eq!(sizes, vec![first, 2_000, 2_001, 4_601]);
    let witness = signed[1].clone();
    let check = || store.ledger_check(Some(&key), Some(&witness), &|_, _| {});
    let report = check().await?;
    assert!(report.holds(), "{:?}", report.problems);
    assert_eq!(report.entries_checked, 4_601);
    assert!(
        report
            .passed
            .iter()
            .any(|p| p == "4 signed checkpoints match the entries and verify with the ledger key"),
        "{:?}",
        report.passed
    );
    assert!(
        report.passed.iter().any(|p| p.contains("(2000 entries) is a prefix")),
        "{:?}",
        report.passed
    );

    let raw = db.raw().await?;
    // A stored node in the second page, changed.
    exec(
        &raw,
        "UPDATE ledger_nodes SET hash = (SELECT hash FROM ledger_nodes WHERE level = 0 AND idx = 0) \
         WHERE level = 1 AND idx = 1100",
    )
    .await?;
    let problems = check().await?.problems;
    assert_eq!(
        problems,
        vec!["1 stored tree nodes differ from the tree recomputed from the entries (9194 stored, 9194 expected)"]
    );
    // A stored node where the tree has none.
    exec(
        &raw,
        "INSERT INTO ledger_nodes (level, idx, hash) SELECT 40, 0, hash FROM ledger_nodes WHERE level = 0 AND idx = 0",
    )
    .await?;
    let problems = check().await?.problems;
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("2 stored tree nodes differ") && p.contains("(9195 stored, 9194 expected)")),
        "{problems:?}"
    );
    // A journal entry that no ledger entry mirrors.
    exec(
        &raw,
        "UPDATE journal_entries SET ledger_index = NULL WHERE ledger_index = 3000",
    )
    .await?;
    let problems = check().await?.problems;
    assert!(
        problems.iter().any(|p| p.contains("has no ledger entry")),
        "{problems:?}"
    );
    assert!(
        problems.iter().any(|p| p.contains("ledger entry 3000: journal entry")),
        "{problems:?}"
    );
    // A checkpoint that does not match the entries.
    exec(
        &raw,
        "UPDATE ledger_checkpoints SET root = (SELECT hash FROM ledger_nodes WHERE level = 0 AND idx = 0) WHERE size = 2001",
    )
    .await?;
    let problems = check().await?.problems;
    assert!(
        problems
            .iter()
            .any(|p| p == "the checkpoint for 2001 entries does not match the entries"),
        "{problems:?}"
    );
    Ok(())
}
