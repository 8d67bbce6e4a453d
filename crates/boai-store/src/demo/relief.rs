//! The demo's relief (人道救助): the seven programmes with their rules and
//! flows, one paid case for every disbursement the demo's money made from a
//! relief fund (the case owns that journal entry and ledger entry, with the
//! pseudonym the ledger already shows), a spread of cases in every other
//! state across the districts (some overdue), and the grassroots demo user
//! `jiceng` of 历下区第一社区红十字服务站. Deterministic; bulk inserts and
//! one audit head update.

use super::{org_id, CITY, DISTRICTS};
use crate::accounts::{hash_password, insert_user};
use crate::audit::{append_many, AuditChange};
use crate::entities::{journal_entries, projects, relief_cases, relief_reviews, sequences};
use crate::network::insert_chunked;
use crate::relief::insert_programme;
use crate::{Actor, Store, StoreError, StoreResult};
use boai_domain::accounts::{Role, UserForCreate};
use boai_domain::audit::AuditAction;
use boai_domain::clock::china_date;
use boai_domain::money::Fen;
use boai_domain::orgs::OrgLevel;
use boai_domain::privacy::mask;
use boai_domain::relief::review::{CaseStatus, Decision, Flow};
use boai_domain::relief::rules::{Combine, Condition, Field, Rule};
use boai_domain::relief::{Payee, Settings};
use boai_domain::scope::{root_path, Scope};
use boai_domain::validation::identity::{id_card_check_char, IdCardNo};
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use std::collections::HashMap;

/// The grassroots demo account (not one of CONTRACT.md's five).
pub const GRASSROOTS_USER: (&str, &str, &str) = ("jiceng", "历下区第一社区工作人员", "JN-LX-001");

fn cond(field: Field, value: &str) -> Condition {
    Condition {
        field,
        op: field.operator(),
        value: value.to_owned(),
    }
}

/// One programme's demo settings: budget, documents, standard and maximum
/// grant (yuan), payee, rule; and the diagnosis and age its cases get.
struct Plan {
    code: &'static str,
    budget_yuan: i64,
    documents: &'static [&'static str],
    standard_yuan: i64,
    max_yuan: i64,
    payee: Payee,
    rule: fn() -> Rule,
    diagnosis: &'static str,
    ages: (u32, u32),
}

const PLANS: [Plan; 7] = [
    Plan {
        code: "CATARACT",
        budget_yuan: 1_200_000,
        documents: &["身份证", "诊断证明", "困难证明"],
        standard_yuan: 3_000,
        max_yuan: 30_000,
        payee: Payee::Hospital,
        rule: || Rule {
            combine: Combine::All,
            conditions: vec![
                cond(Field::Diagnosis, "白内障"),
                cond(Field::Age, "40-100"),
                cond(Field::IncomePerHead, "2000"),
            ],
        },
        diagnosis: "年龄相关性白内障",
        ages: (45, 85),
    },
    Plan {
        code: "UREMIA",
        budget_yuan: 2_000_000,
        documents: &["身份证", "诊断证明", "透析记录"],
        standard_yuan: 10_000,
        max_yuan: 30_000,
        payee: Payee::Person,
        rule: || Rule {
            combine: Combine::All,
            conditions: vec![
                cond(Field::Diagnosis, "尿毒症,慢性肾衰竭"),
                cond(Field::Hardship, "低保,特困,低收入,因病致贫"),
                cond(Field::RecentAid, "12"),
            ],
        },
        diagnosis: "尿毒症 (慢性肾衰竭 5 期)",
        ages: (25, 75),
    },
    Plan {
        code: "ANGEL",
        budget_yuan: 2_000_000,
        documents: &["户口本", "诊断证明", "住院费用清单"],
        standard_yuan: 20_000,
        max_yuan: 50_000,
        payee: Payee::Hospital,
        rule: || Rule {
            combine: Combine::All,
            conditions: vec![
                cond(Field::Age, "0-18"),
                cond(Field::Diagnosis, "白血病,先天性心脏病,脑瘫,肿瘤"),
            ],
        },
        diagnosis: "急性淋巴细胞白血病",
        ages: (2, 17),
    },
    Plan {
        code: "HEART",
        budget_yuan: 1_500_000,
        documents: &["身份证", "诊断证明", "手术方案"],
        standard_yuan: 30_000,
        max_yuan: 50_000,
        payee: Payee::Hospital,
        rule: || Rule {
            combine: Combine::All,
            conditions: vec![cond(Field::Diagnosis, "心力衰竭"), cond(Field::Age, "18-75")],
        },
        diagnosis: "终末期心力衰竭",
        ages: (30, 74),
    },
    Plan {
        code: "PARKINSON",
        budget_yuan: 800_000,
        documents: &["身份证", "诊断证明"],
        standard_yuan: 5_000,
        max_yuan: 30_000,
        payee: Payee::Person,
        rule: || Rule {
            combine: Combine::All,
            conditions: vec![cond(Field::Diagnosis, "帕金森"), cond(Field::Age, "40-100")],
        },
        diagnosis: "帕金森病",
        ages: (50, 88),
    },
    Plan {
        code: "EYECARE",
        budget_yuan: 500_000,
        documents: &["户口本", "视力检查报告"],
        standard_yuan: 3_000,
        max_yuan: 30_000,
        payee: Payee::Person,
        rule: || Rule {
            combine: Combine::All,
            conditions: vec![cond(Field::Age, "3-18"), cond(Field::Diagnosis, "近视,弱视,斜视")],
        },
        diagnosis: "高度近视伴弱视",
        ages: (6, 17),
    },
    Plan {
        code: "WARMTH",
        budget_yuan: 3_000_000,
        documents: &["身份证", "困难证明"],
        standard_yuan: 3_000,
        max_yuan: 30_000,
        payee: Payee::Person,
        rule: || Rule {
            combine: Combine::Any,
            conditions: vec![cond(Field::Hardship, "低保,特困"), cond(Field::IncomePerHead, "1200")],
        },
        diagnosis: "困难家庭 (因病致贫)",
        ages: (18, 90),
    },
];

const SURNAMES: &[&str] = &["王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "孙", "马"];
const GIVEN: &[&str] = &[
    "建国", "秀兰", "志刚", "桂芳", "小雨", "子涵", "玉梅", "德明", "文博", "淑珍", "国强",
];
const HOSPITALS: &[&str] = &[
    "山东省立医院",
    "齐鲁医院",
    "济南市中心医院",
    "山东省千佛山医院",
    "济南市第二人民医院",
];

fn person_id(n: usize, age: u32, today: NaiveDate) -> StoreResult<IdCardNo> {
    let year = today.year() - i32::try_from(age).unwrap_or(0) - 1;
    let birth = NaiveDate::from_ymd_opt(year, (n % 12) as u32 + 1, (n % 28) as u32 + 1)
        .ok_or_else(|| StoreError::Corrupt("demo birth date".into()))?;
    let body = format!("370102{}{:03}", birth.format("%Y%m%d"), n % 1000);
    let check = id_card_check_char(&body).ok_or_else(|| StoreError::Corrupt("demo id".into()))?;
    IdCardNo::parse(&format!("{body}{check}")).map_err(|e| StoreError::Corrupt(format!("demo id: {e}")))
}

fn system_actor() -> Actor {
    let city = org_id(CITY.0);
    Actor {
        user_id: None,
        username: "system".to_owned(),
        role: Role::Admin,
        org_id: city,
        scope: Scope {
            org_id: city,
            path: root_path(city),
        },
        ip: None,
    }
}

/// A demo case before it is written.
struct DemoCase {
    plan: usize,
    status: CaseStatus,
    step: usize,
    amount: i64,
    created: DateTime<Utc>,
    step_since: DateTime<Utc>,
    paid: Option<(DateTime<Utc>, uuid::Uuid, Option<i64>, String)>,
    reason: Option<&'static str>,
}

/// Seeds the relief programmes, the demo's cases and the grassroots user.
pub async fn seed_relief(store: &Store, password: &str) -> StoreResult<()> {
    let now = store.now();
    let today = china_date(now);
    let system = system_actor();
    let txn = store.begin_write().await?;
    let mut audit = Vec::new();
    // Programmes, one per relief project.
    let codes: Vec<&str> = PLANS.iter().map(|p| p.code).collect();
    let project_rows: HashMap<String, projects::Model> = projects::Entity::find()
        .filter(projects::Column::Code.is_in(codes))
        .all(&txn)
        .await?
        .into_iter()
        .map(|p| (p.code.clone(), p))
        .collect();
    let disbursements = journal_entries::Entity::find()
        .filter(journal_entries::Column::Kind.eq("disbursement"))
        .filter(journal_entries::Column::ProjectId.is_in(project_rows.values().map(|p| p.id).collect::<Vec<_>>()))
        .order_by_asc(journal_entries::Column::Seq)
        .all(&txn)
        .await?;
    let mut programmes = Vec::new();
    for plan in &PLANS {
        let project = project_rows
            .get(plan.code)
            .ok_or_else(|| StoreError::Corrupt(format!("demo project {}", plan.code)))?;
        let paid_this_year: i64 = disbursements
            .iter()
            .filter(|d| d.project_id == project.id && china_date(d.at).year() == today.year())
            .map(|d| d.amount_fen)
            .sum();
        let settings = Settings {
            // Room for this year's payments and a fifth more.
            yearly_budget: Fen((plan.budget_yuan * 100).max(paid_this_year / 100 * 120)),
            documents: plan.documents.iter().map(|d| (*d).to_owned()).collect(),
            standard_grant: Fen(plan.standard_yuan * 100),
            max_grant: Fen(plan.max_yuan * 100),
            payee: plan.payee,
            rule: (plan.rule)(),
            flow: Flow::default(),
        };
        let p = insert_programme(&txn, project, &settings, now).await?;
        audit.push(AuditChange {
            action: AuditAction::Create,
            entity: "relief_programme",
            entity_id: p.id.to_string(),
            org_id: p.org_id,
            before: None,
            after: Some(serde_json::json!({"project_id": p.project_id, "name": p.name, "settings": settings})),
        });
        programmes.push(p);
    }
    let plan_of_project: HashMap<uuid::Uuid, usize> = programmes
        .iter()
        .enumerate()
        .map(|(i, p)| (p.project_id.0, i))
        .collect();
    // Paid cases: one per relief disbursement.
    let mut demo: Vec<DemoCase> = Vec::new();
    for d in &disbursements {
        let Some(&plan) = plan_of_project.get(&d.project_id) else {
            continue;
        };
        let pseudonym = d.counterparty.clone().unwrap_or_else(|| format!("受助人 J{}", d.seq));
        demo.push(DemoCase {
            plan,
            status: CaseStatus::Paid,
            step: 0,
            amount: d.amount_fen,
            created: d.at - Duration::days(20 + (d.seq % 15)),
            step_since: d.at - Duration::days(3),
            paid: Some((d.at, d.id, d.ledger_index, pseudonym)),
            reason: None,
        });
    }
    // Cases in every other state, across the districts.
    let others: [(CaseStatus, usize, i64, Option<&str>); 8] = [
        (CaseStatus::Pending, 0, 2, None),
        (CaseStatus::Pending, 0, 12, None),
        (CaseStatus::Pending, 1, 3, None),
        (CaseStatus::Pending, 2, 30, None),
        (CaseStatus::Returned, 0, 6, Some("请补充近三个月的住院费用清单")),
        (CaseStatus::Rejected, 1, 40, Some("家庭人均收入高于本项目标准")),
        (CaseStatus::Approved, 2, 9, None),
        (CaseStatus::Rejected, 0, 70, Some("诊断证明不是二级以上医院出具")),
    ];
    for (plan, p) in PLANS.iter().enumerate() {
        for (k, (status, step, days, reason)) in others.iter().enumerate() {
            let amount = match step {
                0 => 300_000.min(p.max_yuan * 100),
                1 => 800_000,
                _ => (p.standard_yuan * 100).max(1_200_000),
            };
            let created = now - Duration::days(*days + 5 + (k as i64) * 3 + plan as i64);
            demo.push(DemoCase {
                plan,
                status: *status,
                step: *step,
                amount,
                created,
                step_since: now - Duration::days(*days),
                paid: None,
                reason: *reason,
            });
        }
    }
    let mut rows = Vec::with_capacity(demo.len());
    let mut reviews = Vec::new();
    let flow = Flow::default();
    for (i, c) in demo.iter().enumerate() {
        let n = i + 1;
        let plan = &PLANS[c.plan];
        let programme = &programmes[c.plan];
        let (d_code, d_name, _) = DISTRICTS[(i * 7 + c.plan) % DISTRICTS.len()];
        let district = d_name.trim_end_matches("红十字会").to_owned();
        let unit = org_id(&format!("{d_code}-001"));
        let age = plan.ages.0 + (i as u32 * 7) % (plan.ages.1 - plan.ages.0 + 1);
        let id_card = person_id(n, age, today)?;
        let phone = format!("139{:08}", 10_000_000 + n * 37);
        let account = format!("62220216{:010}", n * 7919);
        let name = format!(
            "{}{}",
            SURNAMES[i % SURNAMES.len()],
            GIVEN[(i / SURNAMES.len()) % GIVEN.len()]
        );
        let case_id = uuid::Uuid::new_v5(&super::DEMO_NAMESPACE, format!("relief-case-{n}").as_bytes());
        let case_no = format!("JZ{}{:06}", china_date(c.created).year(), n);
        let pseudonym = c
            .paid
            .as_ref()
            .map(|p| p.3.clone())
            .unwrap_or_else(|| format!("受助人 R{n:05}"));
        let hospital = HOSPITALS[i % HOSPITALS.len()];
        let (status, step) = match c.status {
            CaseStatus::Paid => {
                let needed = flow.steps_needed(Fen(c.amount));
                (CaseStatus::Paid, needed - 1)
            }
            s => (s, c.step),
        };
        // Reviews: approvals up to the step, then the decision taken there.
        let approvals = match status {
            CaseStatus::Paid | CaseStatus::Approved => step + 1,
            _ => step,
        };
        let mut at = c.created + Duration::days(1);
        for s in 0..approvals {
            reviews.push(review_row(case_id, s, Decision::Approve, None, d_name, at));
            at += Duration::days(2);
        }
        if let (CaseStatus::Returned, Some(r)) | (CaseStatus::Rejected, Some(r)) = (status, c.reason) {
            let decision = if status == CaseStatus::Returned {
                Decision::Return
            } else {
                Decision::Reject
            };
            reviews.push(review_row(case_id, step, decision, Some(r), d_name, c.step_since));
        }
        let income_per_head = 90_000 + (i as i64 % 5) * 5_000;
        let size = 1 + (i % 4) as i32;
        rows.push(relief_cases::ActiveModel {
            id: Set(case_id),
            case_no: Set(case_no.clone()),
            pseudonym: Set(pseudonym),
            programme_id: Set(programme.id.0),
            org_id: Set(unit.0),
            district: Set(district.clone()),
            channel: Set(if i % 3 == 0 { "online" } else { "staff" }.to_owned()),
            applicant_name: Set(name),
            id_enc: Set(store.secrets.encrypt(id_card.as_str())),
            id_hash: Set(store.secrets.keyed_hash(id_card.as_str())),
            id_masked: Set(id_card.masked()),
            phone_enc: Set(store.secrets.encrypt(&phone)),
            phone_masked: Set(mask::phone(&phone)),
            household_size: Set(size),
            household_income_fen: Set(income_per_head * i64::from(size)),
            hardship: Set(Some(["低保", "特困", "低收入", "因病致贫"][i % 4].to_owned())),
            diagnosis: Set(plan.diagnosis.to_owned()),
            hospital: Set(Some(hospital.to_owned())),
            bank_name: Set(Some("中国工商银行济南分行".to_owned())),
            bank_account_enc: Set(Some(store.secrets.encrypt(&account))),
            bank_account_masked: Set(Some(mask::bank_account(&account))),
            amount_fen: Set(c.amount),
            status: Set(status.as_str().to_owned()),
            step: Set(i32::try_from(step).unwrap_or(0)),
            step_since: Set(c.step_since),
            public_reason: Set(c.reason.map(str::to_owned)),
            eligibility: Set("符合本项目救助条件".to_owned()),
            lookup_hash: Set(store
                .secrets
                .keyed_hash(&format!("relief-lookup:{case_no}:{:08}", n * 104_729 % 100_000_000))),
            filed_by: Set(None),
            filed_by_name: Set(if i % 3 == 0 { "public" } else { "system" }.to_owned()),
            created_at: Set(c.created),
            decided_at: Set(status.decided().then_some(c.step_since)),
            paid_at: Set(c.paid.as_ref().map(|p| p.0)),
            journal_entry_id: Set(c.paid.as_ref().map(|p| p.1)),
            ledger_index: Set(c.paid.as_ref().and_then(|p| p.2)),
        });
        audit.push(AuditChange {
            action: AuditAction::Create,
            entity: "relief_case",
            entity_id: case_id.to_string(),
            org_id: unit,
            before: None,
            after: Some(serde_json::json!({
                "case_no": case_no, "programme_id": programme.id, "district": district,
                "id_masked": id_card.masked(), "amount_fen": c.amount, "status": status,
            })),
        });
    }
    let count = rows.len();
    insert_chunked(&txn, rows).await?;
    insert_chunked(&txn, reviews).await?;
    sequences::Entity::update_many()
        .col_expr(sequences::Column::Value, Expr::value(count as i64))
        .filter(sequences::Column::Name.eq("relief_case"))
        .exec(&txn)
        .await?;
    // The grassroots reviewer of 历下区第一社区.
    let (username, display, org) = GRASSROOTS_USER;
    let user = insert_user(
        &txn,
        &UserForCreate {
            username: username.to_owned(),
            display_name: display.to_owned(),
            role: Role::GrassrootsOperator,
            org_id: org_id(org),
            password: String::new(),
        },
        &hash_password(password)?,
        now,
    )
    .await?;
    audit.push(AuditChange {
        action: AuditAction::Create,
        entity: "user",
        entity_id: user.id.to_string(),
        org_id: user.org_id,
        before: None,
        after: Some(serde_json::to_value(&user).map_err(|e| StoreError::Corrupt(e.to_string()))?),
    });
    append_many(&txn, &system, now, audit).await?;
    txn.commit().await?;
    Ok(())
}

fn review_row(
    case: uuid::Uuid,
    step: usize,
    decision: Decision,
    reason: Option<&str>,
    district: &str,
    at: DateTime<Utc>,
) -> relief_reviews::ActiveModel {
    let place = district.trim_end_matches("红十字会");
    let reviewer = match step {
        0 => format!("{place}第一社区红十字服务站"),
        1 => district.to_owned(),
        _ => CITY.1.to_owned(),
    };
    let level = match step {
        0 => OrgLevel::Unit,
        1 => OrgLevel::District,
        _ => OrgLevel::City,
    };
    relief_reviews::ActiveModel {
        id: Set(uuid::Uuid::new_v5(
            &super::DEMO_NAMESPACE,
            format!("relief-review-{case}-{step}-{}", decision.as_str()).as_bytes(),
        )),
        case_id: Set(case),
        step: Set(i32::try_from(step).unwrap_or(0)),
        level: Set(level.as_str().to_owned()),
        decision: Set(decision.as_str().to_owned()),
        reason: Set(reason.map(str::to_owned)),
        reviewer_id: Set(None),
        reviewer_name: Set(reviewer),
        at: Set(at),
    }
}
