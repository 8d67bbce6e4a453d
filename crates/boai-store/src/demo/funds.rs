//! The demo city's money: the general and management-cost funds, the seven
//! relief programmes, two appeals, a district project, a year of gifts through
//! every channel (people, organisations, anonymous, some large corporate
//! gifts, goods), monthly allocations from the general fund, disbursements to
//! pseudonymous cases and goods given out. Deterministic: the same seed
//! writes the same records; every figure comes from the journal.

use super::{org_id, CITY, DISTRICTS};
use crate::entities::accounts;
use crate::fundraising::bulk::{BulkGift, GiftInserter, Prepared};
use crate::funds::{ensure_house_funds, insert_project, post, EntryMeta, ProjectForCreate, ProjectStatus};
use crate::{Actor, Store, StoreResult};
use boai_domain::accounts::Role;
use boai_domain::fundraising::{Channel, DonationForCreate, DonorForCreate, Goods};
use boai_domain::funds;
use boai_domain::ids::{OrgId, ProjectId};
use boai_domain::money::Fen;
use boai_domain::scope::{root_path, Scope};
use boai_domain::validation::identity::{credit_code_check_char, id_card_check_char, CreditCode, IdCardNo, Phone};
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use std::collections::HashMap;

/// One demo project.
#[derive(Debug, Clone, Copy)]
pub struct DemoProject {
    pub code: &'static str,
    pub name: &'static str,
    pub kind: &'static str,
    pub designated: bool,
    pub status: ProjectStatus,
    pub target_yuan: i64,
    pub management_rate_bp: i32,
    pub owner: &'static str,
}

const fn project(
    code: &'static str,
    name: &'static str,
    kind: &'static str,
    status: ProjectStatus,
    target_yuan: i64,
    management_rate_bp: i32,
    owner: &'static str,
) -> DemoProject {
    DemoProject {
        code,
        name,
        kind,
        designated: true,
        status,
        target_yuan,
        management_rate_bp,
        owner,
    }
}

/// The demo projects.
pub const PROJECTS: [DemoProject; 12] = [
    project(
        "CATARACT",
        "白内障复明工程",
        "relief",
        ProjectStatus::Open,
        800_000,
        0,
        "JN",
    ),
    project(
        "UREMIA",
        "尿毒症救助",
        "relief",
        ProjectStatus::Open,
        1_200_000,
        0,
        "JN",
    ),
    project(
        "ANGEL",
        "红十字天使计划",
        "relief",
        ProjectStatus::Open,
        1_500_000,
        0,
        "JN",
    ),
    project(
        "HEART",
        "人工心脏项目",
        "relief",
        ProjectStatus::Open,
        1_000_000,
        0,
        "JN",
    ),
    project(
        "PARKINSON",
        "帕金森病救助",
        "relief",
        ProjectStatus::Open,
        500_000,
        0,
        "JN",
    ),
    project(
        "EYECARE",
        "爱眼护眼工程",
        "relief",
        ProjectStatus::Open,
        300_000,
        0,
        "JN",
    ),
    project(
        "WARMTH",
        "博爱送温暖",
        "relief",
        ProjectStatus::Open,
        2_000_000,
        300,
        "JN",
    ),
    project(
        "FLOOD2026",
        "2026 年防汛救灾专项募捐",
        "appeal",
        ProjectStatus::Open,
        5_000_000,
        200,
        "JN",
    ),
    project(
        "AED",
        "公共场所 AED 配置",
        "campaign",
        ProjectStatus::Open,
        1_000_000,
        0,
        "JN",
    ),
    project(
        "LX-CARE",
        "历下区社区助老助残",
        "campaign",
        ProjectStatus::Open,
        200_000,
        0,
        "JN-LX",
    ),
    project(
        "WINTER2025",
        "2025 年冬季送温暖 (已结束)",
        "campaign",
        ProjectStatus::Closed,
        300_000,
        0,
        "JN",
    ),
    project(
        "SCHOOLKIT",
        "校园应急包 (筹备中)",
        "campaign",
        ProjectStatus::Draft,
        400_000,
        0,
        "JN",
    ),
];

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "胡", "朱", "高", "林", "何", "郭", "马",
    "罗",
];
const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超",
    "秀兰", "霞", "平", "刚", "桂英", "建华", "志强",
];
const COMPANIES: &[&str] = &[
    "泉城",
    "历山",
    "齐鲁",
    "华能",
    "鲁信",
    "大明湖",
    "趵突泉",
    "千佛山",
    "济钢",
    "浪潮",
    "重汽",
    "黄河",
    "泰山",
    "章丘",
    "明水",
];
const TRADES: &[&str] = &[
    "科技有限公司",
    "建设集团有限公司",
    "医药股份有限公司",
    "商贸有限公司",
    "食品有限公司",
    "物流有限公司",
];
const GOODS: &[(&str, &str, i64)] = &[
    ("医用口罩", "只", 50),
    ("棉被", "床", 12_000),
    ("矿泉水", "箱", 2_400),
    ("方便面", "箱", 4_500),
    ("轮椅", "台", 45_000),
    ("急救包", "个", 8_000),
];

fn person_id_card(rng: &mut StdRng) -> Option<IdCardNo> {
    let birth = NaiveDate::from_ymd_opt(rng.gen_range(1950..2005), rng.gen_range(1..=12), rng.gen_range(1..=28))?;
    let body = format!("370102{}{:03}", birth.format("%Y%m%d"), rng.gen_range(0..1000));
    IdCardNo::parse(&format!("{body}{}", id_card_check_char(&body)?)).ok()
}

fn company_code(rng: &mut StdRng, n: usize) -> Option<CreditCode> {
    let body = format!("913701{:011}", (n as u64) * 7_919 + rng.gen_range(0..7_000u64));
    CreditCode::parse(&format!("{body}{}", credit_code_check_char(&body)?)).ok()
}

/// The system acting for an organisation (demo writes are audited as `system`).
fn system_actor(org: OrgId) -> Actor {
    let city = org_id(CITY.0);
    Actor {
        user_id: None,
        username: "system".to_owned(),
        role: Role::Admin,
        org_id: org,
        scope: Scope {
            org_id: city,
            path: root_path(city),
        },
        ip: None,
    }
}

/// Whose gift a planned gift is: an index into the demo's people or companies.
#[derive(Debug, Clone, Copy)]
enum DonorRef {
    Anonymous,
    Person(usize),
    Company(usize),
}

/// A gift as planned: small, so a month of ten million a year fits in memory.
#[derive(Debug, Clone, Copy)]
struct PlannedGift {
    at: DateTime<Utc>,
    recorder: OrgId,
    project: ProjectId,
    channel: Channel,
    donor: DonorRef,
    amount: Fen,
    /// Goods: index into [`GOODS`] and quantity.
    goods: Option<(usize, i64)>,
}

impl PlannedGift {
    fn input(&self, people: &[DonorForCreate], companies: &[DonorForCreate]) -> DonationForCreate {
        let donor = match self.donor {
            DonorRef::Anonymous => None,
            DonorRef::Person(i) => Some(people[i].clone()),
            DonorRef::Company(i) => Some(companies[i].clone()),
        };
        let goods = self.goods.map(|(g, quantity)| {
            let (item, unit, _) = GOODS[g];
            Goods {
                item: item.to_owned(),
                quantity,
                unit: unit.to_owned(),
                value: self.amount,
                lot: Some(format!("L{quantity:05}")),
                expires_on: None,
            }
        });
        DonationForCreate {
            project_id: self.project,
            amount: self.amount,
            channel: self.channel,
            donor,
            goods,
            received_on: None,
            note: None,
        }
    }
}

/// Gifts per transaction when seeding.
const GIFTS_PER_BATCH: usize = 2_048;

/// The share of gifts that are goods.
const GOODS_SHARE: f64 = 0.03;

/// Large corporate transfers (¥100,000–2,000,000) in a 30-day window: a
/// city's few big donors give a few times a month, whatever the number of
/// small gifts (so money in, and with it the month ends' grants, does not
/// grow like the gifts' count times a corporate gift).
const LARGE_GIFTS_PER_WINDOW: f64 = 3.0;

/// Grants one fund pays at most in a month: a programme's caseload is
/// bounded by its staff, not by the money it holds (the rest stays in the
/// fund for the months ahead).
const GRANTS_PER_FUND_MONTH: u32 = 40;

/// Plans the `count` gifts of one month window `[from, until)`, in time
/// order, from the window's own random stream (so windows can be planned one
/// at a time and the result is the same whatever the batch sizes).
#[allow(clippy::too_many_arguments)]
fn plan_window(
    window: u64,
    count: u64,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
    general: ProjectId,
    open_projects: &[ProjectId],
    people: usize,
    companies: usize,
) -> Vec<PlannedGift> {
    let city = org_id(CITY.0);
    let mut rng = StdRng::seed_from_u64(0x626f_6169 ^ (window + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    let seconds = (until - from).num_seconds().max(1);
    // A few large corporate transfers a month, however many gifts there are.
    let large_share = (LARGE_GIFTS_PER_WINDOW / count.max(1) as f64).min(0.02);
    let mut planned: Vec<PlannedGift> = (0..count)
        .map(|_| {
            let at = from + Duration::seconds(rng.gen_range(0..seconds));
            let project = if rng.gen_bool(0.35) {
                general
            } else {
                open_projects[rng.gen_range(0..open_projects.len())]
            };
            let roll: f64 = rng.gen();
            let (channel, donor, amount, goods) = if roll < GOODS_SHARE {
                let g = rng.gen_range(0..GOODS.len());
                let quantity = rng.gen_range(10..2_000);
                let donor = DonorRef::Company(rng.gen_range(0..companies));
                (Channel::Goods, donor, Fen(quantity * GOODS[g].2), Some((g, quantity)))
            } else if roll < GOODS_SHARE + large_share {
                let donor = DonorRef::Company(rng.gen_range(0..companies));
                (
                    Channel::BankTransfer,
                    donor,
                    Fen(rng.gen_range(100_000..2_000_000) * 100),
                    None,
                )
            } else {
                let channel = [
                    Channel::Wechat,
                    Channel::Alipay,
                    Channel::Online,
                    Channel::BankTransfer,
                    Channel::Cash,
                    Channel::Cheque,
                ][rng.gen_range(0..6)];
                let donor = if rng.gen_bool(0.15) {
                    DonorRef::Anonymous
                } else if rng.gen_bool(0.12) {
                    DonorRef::Company(rng.gen_range(0..companies))
                } else {
                    DonorRef::Person(rng.gen_range(0..people))
                };
                let yuan = [10, 20, 50, 100, 200, 500, 1000, 2000, 5000][rng.gen_range(0..9)];
                (
                    channel,
                    donor,
                    Fen(yuan * 100 + rng.gen_range(0..2) * rng.gen_range(0..100)),
                    None,
                )
            };
            let recorder = if rng.gen_bool(0.3) {
                org_id(DISTRICTS[rng.gen_range(0..DISTRICTS.len())].0)
            } else {
                city
            };
            PlannedGift {
                at,
                recorder,
                project,
                channel,
                donor,
                amount,
                goods,
            }
        })
        .collect();
    planned.sort_by_key(|g| g.at);
    planned
}

/// Seeds the demo's funds and `gifts` gifts over the year before `now`,
/// calling `progress(done, total)` as it goes.
pub async fn seed_funds(store: &Store, gifts: u64, mut progress: impl FnMut(u64, u64)) -> StoreResult<()> {
    let now = store.now();
    let city = org_id(CITY.0);
    let txn = store.begin_write().await?;
    ensure_house_funds(&txn, city, now).await?;
    let mut ids: HashMap<&str, ProjectId> = HashMap::new();
    for d in PROJECTS {
        let p = insert_project(
            &txn,
            &ProjectForCreate {
                code: d.code.to_owned(),
                name: d.name.to_owned(),
                kind: d.kind.to_owned(),
                designated: d.designated,
                status: if d.status == ProjectStatus::Closed {
                    ProjectStatus::Open
                } else {
                    d.status
                },
                target: Some(Fen(d.target_yuan * 100)),
                starts_on: NaiveDate::from_ymd_opt(now.year() - 1, now.month(), 1),
                ends_on: None,
                org_id: org_id(d.owner),
                management_rate_bp: d.management_rate_bp,
            },
            now,
        )
        .await?;
        ids.insert(d.code, p.id);
    }
    txn.commit().await?;
    let (general, cost_fund) = store.house_funds().await?;

    let mut rng = StdRng::seed_from_u64(0x626f_6169);
    let people: Vec<DonorForCreate> = (0..3000)
        .map(|i| {
            let name = format!(
                "{}{}",
                SURNAMES[i % SURNAMES.len()],
                GIVEN[(i / SURNAMES.len() + i) % GIVEN.len()]
            );
            let phone = Phone::parse(&format!("13{:09}", 500_000_000 + i as u64 * 37)).ok();
            let id_card = if i % 3 == 0 { person_id_card(&mut rng) } else { None };
            DonorForCreate::Person {
                name,
                phone,
                id_card,
                public: i % 2 == 0,
            }
        })
        .collect();
    let companies: Vec<DonorForCreate> = (0..120)
        .map(|i| DonorForCreate::Organisation {
            name: format!(
                "济南{}{}",
                COMPANIES[i % COMPANIES.len()],
                TRADES[(i / COMPANIES.len()) % TRADES.len()]
            ),
            credit_code: company_code(&mut rng, i),
            public: true,
        })
        .collect();
    let open_projects: Vec<ProjectId> = PROJECTS
        .iter()
        .filter(|p| p.status != ProjectStatus::Draft)
        .map(|p| ids[p.code])
        .collect();
    let start = now - Duration::days(365);
    let total_seconds = (now - start).num_seconds().max(1) as u128;
    let mut writer = store.bulk_gift_writer().await?;
    let relief: Vec<ProjectId> = PROJECTS
        .iter()
        .filter(|p| p.kind == "relief")
        .map(|p| ids[p.code])
        .collect();
    let mut done = 0u64;
    let mut month_start = start;
    let mut case_no = 1u32;
    let mut window = 0u64;
    let mut in_gifts = std::time::Duration::ZERO;
    let mut in_month_ends = std::time::Duration::ZERO;
    // Where the gifts' time goes: building batches here, and waiting for
    // the inserter (its queue full: the database is the slower side).
    let mut in_prepare = std::time::Duration::ZERO;
    let mut in_insert_wait = std::time::Duration::ZERO;
    let mut posted = 0u64;
    while month_start < now {
        let mut month_posts = 0u64;
        let month_end = (month_start + Duration::days(30)).min(now);
        // This window's share of the gifts, by its length.
        let before = (u128::from(gifts) * (month_start - start).num_seconds() as u128 / total_seconds) as u64;
        let upto = (u128::from(gifts) * (month_end - start).num_seconds() as u128 / total_seconds) as u64;
        let planned = plan_window(
            window,
            upto - before,
            month_start,
            month_end,
            general.id,
            &open_projects,
            people.len(),
            companies.len(),
        );
        window += 1;
        // A pipeline: batch k is inserted (by the inserter's task and
        // sqlx's worker) while batch k+1 is built and hashed here.
        let started = std::time::Instant::now();
        let mut inserter = GiftInserter::start(store);
        for chunk in planned.chunks(GIFTS_PER_BATCH) {
            let batch = chunk
                .iter()
                .map(|g| BulkGift {
                    at: g.at,
                    actor: system_actor(g.recorder),
                    input: g.input(&people, &companies),
                })
                .collect();
            let preparing = std::time::Instant::now();
            let prepared = writer.prepare(store, batch)?;
            in_prepare += preparing.elapsed();
            let batch = match prepared {
                Prepared::Ready(prepared) => {
                    let waiting = std::time::Instant::now();
                    inserter.insert(prepared).await?;
                    in_insert_wait += waiting.elapsed();
                    None
                }
                Prepared::NeedsDatabase(batch) => Some(batch),
            };
            if let Some(batch) = batch {
                // A new donor (or numbers to read): the database first.
                inserter.flush().await?;
                writer.reload(store).await?;
                match writer.prepare(store, batch)? {
                    Prepared::Ready(prepared) => inserter.insert(prepared).await?,
                    Prepared::NeedsDatabase(batch) => {
                        writer.write(store, batch).await?;
                    }
                }
            }
            done += chunk.len() as u64;
            progress(done, gifts);
        }
        inserter.finish().await?;
        in_gifts += started.elapsed();
        let month_end_started = std::time::Instant::now();
        let txn = store.begin_write().await?;
        // Month end: management costs where agreed, allocate part of the
        // general fund, pay cases, give goods out.
        let system = system_actor(city);
        for d in PROJECTS.iter().filter(|d| d.management_rate_bp > 0) {
            let base: i64 = planned
                .iter()
                .filter(|g| g.at >= month_start && g.at < month_end && g.project == ids[d.code] && g.goods.is_none())
                .map(|g| g.amount.0)
                .sum();
            let charge = funds::management_charge(
                Fen(base),
                i64::from(d.management_rate_bp),
                crate::funds::MANAGEMENT_RATE_CAP_BP,
            )
            .map_err(|e| crate::funds::funds_error(e, "amount_fen"))?;
            if charge.0 > 0 {
                let plan = funds::management_cost(ids[d.code], cost_fund.id, charge)
                    .map_err(|e| crate::funds::funds_error(e, "amount_fen"))?;
                let meta = EntryMeta {
                    memo: Some(format!("管理费 {} 基点", d.management_rate_bp)),
                    ..EntryMeta::default()
                };
                post(&txn, &system, city, month_end - Duration::seconds(3), &plan, &meta).await?;
                month_posts += 1;
            }
        }
        let balances = money_balances(&txn).await?;
        let general_money = balances.get(&general.id).map(|b| b.0).unwrap_or(0);
        let share = general_money * 4 / 10 / relief.len() as i64;
        if share > 0 {
            for project in &relief {
                let plan = funds::allocation(general.id, false, *project, Fen(share))
                    .map_err(|e| crate::funds::funds_error(e, "amount_fen"))?;
                let meta = EntryMeta {
                    decision_ref: Some(format!("市红十字会执委会决议 {}", month_end.format("%Y-%m"))),
                    ..EntryMeta::default()
                };
                post(&txn, &system, city, month_end - Duration::seconds(2), &plan, &meta).await?;
                month_posts += 1;
            }
        }
        let balances = money_balances(&txn).await?;
        for (fund, (money, goods)) in balances.iter() {
            if *fund == general.id || *fund == cost_fund.id {
                continue;
            }
            let mut budget = money * 6 / 10;
            let mut grants = 0;
            while budget > 300_000 && grants < GRANTS_PER_FUND_MONTH {
                grants += 1;
                let grant = rng.gen_range(300_000..3_000_000).min(budget);
                let plan =
                    funds::disbursement(*fund, Fen(grant)).map_err(|e| crate::funds::funds_error(e, "amount_fen"))?;
                let meta = EntryMeta {
                    counterparty: Some(format!("受助人 #{case_no:05}")),
                    public_recipient: Some(format!("受助人 #{case_no:05}")),
                    ..EntryMeta::default()
                };
                post(&txn, &system, city, month_end - Duration::seconds(1), &plan, &meta).await?;
                month_posts += 1;
                case_no += 1;
                budget -= grant;
            }
            if *goods > 0 {
                let out = goods * 7 / 10;
                if out > 0 {
                    let plan =
                        funds::goods_out(*fund, Fen(out)).map_err(|e| crate::funds::funds_error(e, "amount_fen"))?;
                    let meta = EntryMeta {
                        counterparty: Some("受灾群众物资发放".to_owned()),
                        public_recipient: Some("受灾群众".to_owned()),
                        ..EntryMeta::default()
                    };
                    post(&txn, &system, city, month_end - Duration::seconds(1), &plan, &meta).await?;
                    month_posts += 1;
                }
            }
        }
        txn.commit().await?;
        // The month end took numbers and moved the chain's head.
        writer.reload(store).await?;
        in_month_ends += month_end_started.elapsed();
        posted += month_posts;
        progress(done, gifts);
        month_start = month_end;
    }
    writer.finish(store).await?;
    tracing::info!(
        gifts,
        gift_seconds = in_gifts.as_secs_f64(),
        prepare_seconds = in_prepare.as_secs_f64(),
        insert_wait_seconds = in_insert_wait.as_secs_f64(),
        month_end_entries = posted,
        month_end_seconds = in_month_ends.as_secs_f64(),
        "demo: gifts and month ends written"
    );
    let closed: Vec<uuid::Uuid> = PROJECTS
        .iter()
        .filter(|p| p.status == ProjectStatus::Closed)
        .map(|p| ids[p.code].0)
        .collect();
    crate::entities::projects::Entity::update_many()
        .col_expr(
            crate::entities::projects::Column::Status,
            sea_orm::sea_query::Expr::value("closed"),
        )
        .filter(crate::entities::projects::Column::Id.is_in(closed))
        .exec(&store.write)
        .await?;
    Ok(())
}

async fn money_balances<C: sea_orm::ConnectionTrait>(conn: &C) -> StoreResult<HashMap<ProjectId, (i64, i64)>> {
    let rows = accounts::Entity::find()
        .filter(accounts::Column::Kind.is_in(["money", "goods"]))
        .all(conn)
        .await?;
    let mut out: HashMap<ProjectId, (i64, i64)> = HashMap::new();
    for a in rows {
        let e = out.entry(ProjectId(a.fund_id)).or_default();
        if a.kind == "money" {
            e.0 = a.balance_fen;
        } else {
            e.1 = a.balance_fen;
        }
    }
    Ok(out)
}
