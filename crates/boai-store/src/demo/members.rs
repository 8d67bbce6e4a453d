//! The demo's members and councils: one to four members per working unit
//! (individuals with valid synthetic 身份证 numbers, some youth members at
//! schools, group members at enterprises, hospitals and public bodies), dues
//! rates for the last three years, payments with unique receipt numbers
//! (most members pay, some pay now and then, a few never), the members
//! with at least two unpaid completed years lapsed, and the 理事会, 执委会 and
//! 监事会 of the city and the 12 districts, each with two meetings whose
//! minutes are small PDFs. Deterministic: seeded generators, UUID v5 ids.

use super::{org_id, tiny_pdf, CITY, DEMO_NAMESPACE, DISTRICTS};
use crate::audit::{append_many, AuditChange};
use crate::entities::{council_members, dues_payments, dues_rates, org_units, orgs};
use crate::members::{active_model, meeting_row, member_row};
use crate::network::insert_chunked;
use crate::{Actor, Store, StoreError, StoreResult};
use boai_domain::accounts::Role;
use boai_domain::audit::AuditAction;
use boai_domain::ids::OrgId;
use boai_domain::members::{
    CouncilBody, DuesRates, DuesStanding, MemberForCreate, MemberId, MemberKind, MemberStatus, MemberType,
    DEFAULT_LAPSE_AFTER, DEFAULT_TYPES,
};
use boai_domain::money::Fen;
use boai_domain::orgs::OrgLevel;
use boai_domain::scope::{root_path, Scope};
use boai_domain::validation::identity::{id_card_check_char, IdCardNo};
use chrono::{Datelike, Duration, NaiveDate};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// Dues per type for the years `current - 2 ..= current`, in fen.
const RATES: [(&str, [i64; 3]); 3] = [
    ("ordinary", [5_000, 5_000, 6_000]),
    ("youth", [1_000, 1_000, 1_000]),
    ("group", [50_000, 50_000, 50_000]),
];

const SURNAMES: [&str; 20] = [
    "王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "马", "朱", "胡", "郭", "何", "高", "林",
    "罗",
];
const GIVEN: [&str; 24] = [
    "建国", "秀英", "志强", "丽华", "海燕", "伟", "静", "军", "敏", "洪涛", "桂兰", "春梅", "立新", "晓东", "玉珍",
    "红霞", "子涵", "浩然", "雨桐", "思远", "欣怡", "宇航", "梓萱", "俊杰",
];

/// Seats of the city's 理事会 and of a district's, by role.
const CITY_COUNCIL: [(&str, usize); 5] = [("会长", 1), ("副会长", 3), ("秘书长", 1), ("常务理事", 3), ("理事", 6)];
const DISTRICT_COUNCIL: [(&str, usize); 4] = [("会长", 1), ("副会长", 2), ("秘书长", 1), ("理事", 5)];

/// 行政区划代码 of each district, in the order of [`DISTRICTS`].
const REGION_CODES: [&str; 12] = [
    "370102", "370103", "370104", "370105", "370112", "370113", "370114", "370115", "370116", "370117", "370124",
    "370126",
];

fn person(rng: &mut StdRng) -> String {
    format!(
        "{}{}",
        SURNAMES[rng.gen_range(0..SURNAMES.len())],
        GIVEN[rng.gen_range(0..GIVEN.len())]
    )
}

/// A valid synthetic ID number of district `d`, born on `born`, not yet in `used`.
fn id_card(rng: &mut StdRng, d: usize, born: NaiveDate, used: &mut HashSet<String>) -> Option<IdCardNo> {
    for _ in 0..50 {
        let body = format!(
            "{}{}{:03}",
            REGION_CODES[d],
            born.format("%Y%m%d"),
            rng.gen_range(1..1000)
        );
        let full = format!("{body}{}", id_card_check_char(&body)?);
        if used.insert(full.clone()) {
            return IdCardNo::parse(&full).ok();
        }
    }
    None
}

fn date_in(rng: &mut StdRng, year: i32, latest: NaiveDate) -> NaiveDate {
    let start = NaiveDate::from_ymd_opt(year, 1, 1).unwrap_or(latest);
    let end = NaiveDate::from_ymd_opt(year, 12, 31).unwrap_or(latest).min(latest);
    let span = (end - start).num_days().max(0);
    start + Duration::days(rng.gen_range(0..=span))
}

/// Seeds members, dues and councils (one transaction, after the organisations).
pub(super) async fn seed_members(store: &Store) -> StoreResult<()> {
    let now = store.now();
    let today = boai_domain::clock::china_date(now);
    let year = today.year();
    let years = [year - 2, year - 1, year];
    let city = org_id(CITY.0);
    let system = Actor {
        user_id: None,
        username: "system".to_owned(),
        role: Role::Admin,
        org_id: city,
        scope: Scope {
            org_id: city,
            path: root_path(city),
        },
        ip: None,
    };
    let types: Vec<MemberType> = DEFAULT_TYPES
        .iter()
        .map(|(code, name, kind)| MemberType {
            code: (*code).to_owned(),
            name_zh: (*name).to_owned(),
            kind: *kind,
        })
        .collect();
    let type_of = |code: &str| types.iter().find(|t| t.code == code).cloned();
    let mut rates = DuesRates::default();
    let mut rate_rows = Vec::new();
    for (code, amounts) in RATES {
        for (y, amount) in years.iter().zip(amounts) {
            rates.0.insert((code.to_owned(), *y), Fen(amount));
            rate_rows.push(dues_rates::ActiveModel {
                type_code: Set(code.to_owned()),
                year: Set(*y),
                amount_fen: Set(amount),
                updated_at: Set(now),
            });
        }
    }

    let district_of: HashMap<Uuid, usize> = DISTRICTS
        .iter()
        .enumerate()
        .map(|(d, (code, _, _))| (org_id(code).0, d))
        .collect();
    let txn = store.begin_write().await?;
    let units = orgs::Entity::find()
        .filter(orgs::Column::Level.eq(OrgLevel::Unit.as_str()))
        .order_by_asc(orgs::Column::Code)
        .all(&txn)
        .await?;
    let status: HashMap<Uuid, String> = org_units::Entity::find()
        .all(&txn)
        .await?
        .into_iter()
        .map(|u| (u.org_id, u.status))
        .collect();

    let mut rng = StdRng::seed_from_u64(0x4855_4959_0001);
    let mut used = HashSet::new();
    let mut member_rows = Vec::new();
    let mut payment_rows = Vec::new();
    let mut changes = Vec::new();
    let mut receipt = 0u32;
    for unit in &units {
        if status.get(&unit.id).is_some_and(|s| s == "dissolved") {
            continue;
        }
        let Some(&d) = unit.parent_id.as_ref().and_then(|p| district_of.get(p)) else {
            continue;
        };
        let n = rng.gen_range(1..=4);
        let kind = unit.kind.as_str();
        let mut planned: Vec<&str> = (0..n)
            .map(|_| {
                if matches!(kind, "school" | "university") && rng.gen_bool(0.5) {
                    "youth"
                } else {
                    "ordinary"
                }
            })
            .collect();
        if matches!(kind, "enterprise" | "hospital" | "government") && rng.gen_bool(0.4) {
            planned.push("group");
        }
        for (i, type_code) in planned.into_iter().enumerate() {
            let Some(member_type) = type_of(type_code) else {
                continue;
            };
            let member_no = format!("{}-{:04}", unit.code, i + 1);
            let joined_on = match rng.gen_range(0..100) {
                0..=69 => {
                    let y = rng.gen_range(2012..year - 2);
                    date_in(&mut rng, y, today)
                }
                70..=84 => {
                    let y = year - rng.gen_range(1..=2);
                    date_in(&mut rng, y, today)
                }
                _ => date_in(&mut rng, year, today - Duration::days(1)),
            };
            let (name, id_card, credit_code) = if member_type.kind == MemberKind::Group {
                (format!("{}(团体)", unit.name.trim_end_matches("红十字会")), None, None)
            } else {
                let born = if type_code == "youth" {
                    NaiveDate::from_ymd_opt(year - rng.gen_range(10..18), 1, 1).unwrap_or(today)
                        + Duration::days(rng.gen_range(0..365))
                } else {
                    NaiveDate::from_ymd_opt(year - rng.gen_range(22..75), 1, 1).unwrap_or(today)
                        + Duration::days(rng.gen_range(0..365))
                };
                (person(&mut rng), id_card(&mut rng, d, born, &mut used), None)
            };
            let phone = (member_type.kind == MemberKind::Individual && rng.gen_bool(0.7)).then(|| {
                format!(
                    "1{}{:08}",
                    [3, 5, 7, 8][rng.gen_range(0..4)],
                    rng.gen_range(0..100_000_000)
                )
            });
            let input = MemberForCreate {
                name,
                member_type,
                id_card,
                credit_code,
                phone,
                joined_on,
            };
            let id = MemberId(Uuid::new_v5(&DEMO_NAMESPACE, format!("member-{member_no}").as_bytes()));
            let mut row = member_row(store.secrets(), id, OrgId(unit.id), member_no, &input, now);
            // How this member pays: mostly every year, some now and then, a few never.
            let habit = rng.gen_range(0..100);
            let mut paid = HashSet::new();
            let standing = DuesStanding {
                type_code: &row.type_code,
                joined_on,
                status: MemberStatus::Active,
                lapsed_on: None,
            };
            for y in years {
                let Some(due) = standing.due(y, &rates) else {
                    continue;
                };
                let pays = match habit {
                    0..=74 => y < year || rng.gen_bool(0.7),
                    75..=91 => rng.gen_bool(0.5),
                    _ => false,
                };
                if !pays {
                    continue;
                }
                receipt += 1;
                let receipt_no = format!("HF{y}-{receipt:06}");
                paid.insert(y);
                payment_rows.push(dues_payments::ActiveModel {
                    id: Set(Uuid::new_v5(&DEMO_NAMESPACE, receipt_no.as_bytes())),
                    member_id: Set(id.0),
                    org_id: Set(unit.id),
                    year: Set(y),
                    amount_fen: Set(due.0),
                    receipt_no: Set(receipt_no),
                    paid_on: Set(date_in(&mut rng, y, today).max(joined_on)),
                    recorded_by: Set("system".to_owned()),
                    created_at: Set(now),
                });
            }
            if standing.should_lapse(year, &paid, &rates, DEFAULT_LAPSE_AFTER) {
                row.status = MemberStatus::Lapsed.as_str().to_owned();
                row.lapsed_on = NaiveDate::from_ymd_opt(year, 1, 15).map(|d| d.min(today));
            }
            let mut paid_years: Vec<i32> = paid.into_iter().collect();
            paid_years.sort_unstable();
            changes.push(AuditChange {
                action: AuditAction::Create,
                entity: "member",
                entity_id: id.to_string(),
                org_id: OrgId(unit.id),
                before: None,
                after: Some(serde_json::json!({
                    "member_no": row.member_no, "name": row.name, "type_code": row.type_code,
                    "id_card_masked": row.id_card_masked, "joined_on": row.joined_on, "status": row.status,
                    "paid_years": paid_years,
                })),
            });
            member_rows.push(active_model(row));
        }
    }

    // Councils of the city and each district.
    let mut council_rows = Vec::new();
    let mut meeting_rows = Vec::new();
    let mut orgs_with_councils = vec![(city, CITY.1.to_owned(), 8, NaiveDate::from_ymd_opt(year - 3, 6, 1))];
    for (code, name, _) in DISTRICTS {
        orgs_with_councils.push((
            org_id(code),
            name.to_owned(),
            5,
            NaiveDate::from_ymd_opt(year - 2, 3, 1),
        ));
    }
    let mut crng = StdRng::seed_from_u64(0x4355_4e43_0001);
    for (n, (org, name, term_no, start)) in orgs_with_councils.iter().enumerate() {
        let Some(start) = *start else { continue };
        let end = start + Duration::days(5 * 365 - 1);
        let is_city = n == 0;
        let plan: [(CouncilBody, &[(&str, usize)]); 3] = [
            (
                CouncilBody::Council,
                if is_city {
                    &CITY_COUNCIL[..]
                } else {
                    &DISTRICT_COUNCIL[..]
                },
            ),
            (
                CouncilBody::Executive,
                &[
                    ("会长", 1),
                    ("常务副会长", 1),
                    ("副会长", 1),
                    ("秘书长", 1),
                    ("执行委员", 2),
                ],
            ),
            (CouncilBody::Supervisory, &[("监事长", 1), ("监事", 2)]),
        ];
        let mut seat = 0;
        for (body, roles) in plan {
            for (role, count) in roles {
                for _ in 0..*count {
                    seat += 1;
                    let person_name = person(&mut crng);
                    council_rows.push(council_members::ActiveModel {
                        id: Set(Uuid::new_v5(
                            &DEMO_NAMESPACE,
                            format!("council-{org}-{seat}").as_bytes(),
                        )),
                        org_id: Set(org.0),
                        body: Set(body.as_str().to_owned()),
                        person_name: Set(person_name),
                        role: Set((*role).to_owned()),
                        term_no: Set(*term_no),
                        term_start: Set(start),
                        term_end: Set(end),
                        created_at: Set(now),
                    });
                }
            }
        }
        let meetings = [
            (
                CouncilBody::Council,
                NaiveDate::from_ymd_opt(year - 1, 3, 18),
                format!("第{term_no}届理事会第二次会议"),
                "Council meeting",
            ),
            (
                CouncilBody::Supervisory,
                NaiveDate::from_ymd_opt(year - 1, 12, 10),
                format!("第{term_no}届监事会年度会议"),
                "Supervisory board meeting",
            ),
        ];
        for (k, (body, held_on, title, english)) in meetings.into_iter().enumerate() {
            let Some(held_on) = held_on else { continue };
            let pdf = tiny_pdf(&[
                "Jinan Red Cross Society (demo)",
                &format!("{english}, {}", held_on.format("%Y-%m-%d")),
                "Minutes: the meeting heard the annual report and approved it.",
            ]);
            let id = Uuid::new_v5(&DEMO_NAMESPACE, format!("meeting-{org}-{k}").as_bytes());
            changes.push(AuditChange {
                action: AuditAction::Create,
                entity: "council_meeting",
                entity_id: id.to_string(),
                org_id: *org,
                before: None,
                after: Some(serde_json::json!({"body": body.as_str(), "held_on": held_on, "title": title})),
            });
            meeting_rows.push(meeting_row(
                *org,
                body,
                held_on,
                &title,
                Some((format!("会议纪要-{}.pdf", held_on.format("%Y%m%d")).as_str(), pdf)),
                now,
                id,
            ));
        }
        changes.push(AuditChange {
            action: AuditAction::Create,
            entity: "council",
            entity_id: org.to_string(),
            org_id: *org,
            before: None,
            after: Some(serde_json::json!({"org": name, "term_no": term_no, "seats": seat})),
        });
    }

    insert_chunked(&txn, rate_rows).await?;
    insert_chunked(&txn, member_rows).await?;
    insert_chunked(&txn, payment_rows).await?;
    insert_chunked(&txn, council_rows).await?;
    insert_chunked(&txn, meeting_rows).await?;
    append_many(&txn, &system, now, changes).await?;
    txn.commit().await.map_err(StoreError::from)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn rates_cover_every_default_type() {
        for (code, _, _) in boai_domain::members::DEFAULT_TYPES {
            assert!(super::RATES.iter().any(|(c, _)| *c == code), "{code}");
        }
    }
}
