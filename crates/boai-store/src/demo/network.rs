//! The demo's grassroots network: 2,328 units over the 12 districts and
//! counties (urban districts mostly communities, schools and enterprises;
//! counties and rural districts mostly villages), each with its particulars
//! (about nine in ten with a valid 统一社会信用代码 of the right registration
//! category and district), a few suspended or dissolved, and a 五有
//! assessment in which about four in five active units meet every item.
//! Deterministic: one seeded generator, the same rows on every backend.

use super::DISTRICTS;
use crate::entities::wuyou_assessments;
use boai_domain::ids::OrgId;
use boai_domain::network::{UnitDetails, UnitStatus};
use boai_domain::orgs::OrgKind;
use boai_domain::validation::identity::{credit_code_check_char, CreditCode};
use chrono::{Duration, NaiveDate};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sea_orm::ActiveValue::Set;

/// Grassroots units per district, in the order of [`DISTRICTS`] (2,328 in all).
pub const UNITS_PER_DISTRICT: [usize; 12] = [186, 214, 178, 196, 312, 164, 298, 172, 226, 72, 148, 162];

/// 行政区划代码 of each district, in the order of [`DISTRICTS`].
const REGION_CODES: [&str; 12] = [
    "370102", "370103", "370104", "370105", "370112", "370113", "370114", "370115", "370116", "370117", "370124",
    "370126",
];

/// Districts 0..5 are the urban core; the rest are more rural.
const URBAN: usize = 5;

const URBAN_MIX: [(OrgKind, u32); 8] = [
    (OrgKind::Community, 40),
    (OrgKind::Village, 5),
    (OrgKind::School, 20),
    (OrgKind::University, 3),
    (OrgKind::Enterprise, 15),
    (OrgKind::Hospital, 7),
    (OrgKind::Government, 6),
    (OrgKind::SocialOrganisation, 4),
];

const RURAL_MIX: [(OrgKind, u32); 8] = [
    (OrgKind::Community, 15),
    (OrgKind::Village, 45),
    (OrgKind::School, 18),
    (OrgKind::University, 1),
    (OrgKind::Enterprise, 10),
    (OrgKind::Hospital, 5),
    (OrgKind::Government, 4),
    (OrgKind::SocialOrganisation, 2),
];

const WORDS: [&str; 24] = [
    "和平", "解放", "文化", "建设", "幸福", "光明", "新华", "花园", "阳光", "锦绣", "友谊", "长青", "振兴", "和谐",
    "东风", "丰收", "泉城", "明湖", "千佛", "舜耕", "清河", "龙山", "凤鸣", "永安",
];
const PARTS: [&str; 10] = ["", "东", "西", "南", "北", "新", "中", "前", "后", "新村"];
const SURNAMES: [&str; 16] = [
    "王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "马", "朱", "胡", "郭",
];
const GIVEN: [&str; 16] = [
    "建国", "秀英", "志强", "丽华", "海燕", "伟", "静", "军", "敏", "洪涛", "桂兰", "春梅", "立新", "晓东", "玉珍",
    "红霞",
];

/// The default 五有 items, in checklist order, and how often each is the one
/// a failing unit lacks (funding and a venue most of all).
const SHORTFALL_WEIGHTS: [(&str, u32); 7] = [
    ("leader", 3),
    ("members", 10),
    ("rules", 5),
    ("venue", 20),
    ("activities", 14),
    ("funding", 30),
    ("records", 18),
];

fn pick<T: Copy>(rng: &mut StdRng, weighted: &[(T, u32)]) -> T {
    let total: u32 = weighted.iter().map(|(_, w)| w).sum();
    let mut x = rng.gen_range(0..total);
    for (item, w) in weighted {
        if x < *w {
            return *item;
        }
        x -= w;
    }
    weighted[0].0
}

/// A generated unit (beyond the four fixed ones of each district).
pub(super) struct DemoUnit {
    pub suffix: usize,
    pub name: String,
    pub kind: OrgKind,
}

/// The extra units of district `d` (numbered from 005).
pub(super) fn extra_units(d: usize, place: &str) -> Vec<DemoUnit> {
    let mut rng = StdRng::seed_from_u64(0x5759_0000 + d as u64);
    let urban = d < URBAN;
    let mix: &[(OrgKind, u32)] = if urban { &URBAN_MIX } else { &RURAL_MIX };
    let extra = UNITS_PER_DISTRICT[d].saturating_sub(4);
    (0..extra)
        .map(|i| {
            let kind = pick(&mut rng, mix);
            let word = WORDS[i % WORDS.len()];
            let part = PARTS[(i / WORDS.len()) % PARTS.len()];
            let n = i / (WORDS.len() * PARTS.len()) + 1;
            let num = if n > 1 { format!("第{n}") } else { String::new() };
            let name = match kind {
                OrgKind::Community => format!("{place}{word}{part}{num}社区红十字服务站"),
                OrgKind::Village => format!("{place}{word}{part}{num}村红十字服务站"),
                OrgKind::School => format!("{place}{word}{part}{num}小学红十字会"),
                OrgKind::University => format!("{place}{word}{part}{num}职业学院红十字会"),
                OrgKind::Enterprise => format!("{place}{word}{part}{num}实业公司红十字会"),
                OrgKind::Hospital => format!("{place}{word}{part}{num}卫生院红十字会"),
                OrgKind::Government => format!("{place}{word}{part}{num}街道机关红十字会"),
                _ => format!("{place}{word}{part}{num}志愿服务中心红十字会"),
            };
            DemoUnit {
                suffix: i + 5,
                name,
                kind,
            }
        })
        .collect()
}

/// The registration authority and category of a credit code by kind.
fn credit_prefix(kind: OrgKind) -> &'static str {
    match kind {
        OrgKind::Community => "55",
        OrgKind::Village => "54",
        OrgKind::School | OrgKind::University | OrgKind::Hospital => "12",
        OrgKind::Government => "11",
        OrgKind::SocialOrganisation => "52",
        _ => "91",
    }
}

const CODE_ALPHABET: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

/// A synthetic credit code with a correct check character, unique by `serial`.
fn credit_code(rng: &mut StdRng, kind: OrgKind, d: usize, serial: usize) -> Option<CreditCode> {
    let a = char::from(CODE_ALPHABET[rng.gen_range(10..CODE_ALPHABET.len())]);
    let b = char::from(CODE_ALPHABET[rng.gen_range(10..CODE_ALPHABET.len())]);
    let body = format!("{}{}{a}{b}{serial:07}", credit_prefix(kind), REGION_CODES[d]);
    let check = credit_code_check_char(&body)?;
    CreditCode::parse(&format!("{body}{check}")).ok()
}

/// The particulars and assessment of every demo unit: (unit id, details,
/// items not met). `units` are (district index, unit id, kind), in seeding order.
pub(super) fn particulars(
    units: &[(usize, OrgId, OrgKind)],
    place: impl Fn(usize) -> String,
) -> Vec<(OrgId, UnitDetails, Vec<&'static str>)> {
    let mut rng = StdRng::seed_from_u64(0x5759_00ff);
    units
        .iter()
        .enumerate()
        .map(|(serial, &(d, id, kind))| {
            let has_code = !matches!(kind, OrgKind::Village | OrgKind::Community) || rng.gen_bool(0.8);
            let code = if has_code {
                credit_code(&mut rng, kind, d, serial + 1)
            } else {
                None
            };
            let status = match rng.gen_range(0..100) {
                0..=1 => UnitStatus::Suspended,
                2 => UnitStatus::Dissolved,
                _ => UnitStatus::Active,
            };
            let founded =
                NaiveDate::from_ymd_opt(1990, 1, 1).unwrap_or_default() + Duration::days(rng.gen_range(0..12_000));
            let leader = format!(
                "{}{}",
                SURNAMES[rng.gen_range(0..SURNAMES.len())],
                GIVEN[rng.gen_range(0..GIVEN.len())]
            );
            let phone = format!("0531-{}", rng.gen_range(81_000_000..89_000_000));
            let address = format!(
                "{}{}路{}号",
                place(d),
                WORDS[rng.gen_range(0..WORDS.len())],
                rng.gen_range(1..400)
            );
            let mut missing = Vec::new();
            if !rng.gen_bool(0.8) {
                let n = match rng.gen_range(0..10) {
                    0..=5 => 1,
                    6..=8 => 2,
                    _ => 3,
                };
                while missing.len() < n {
                    let item = pick(&mut rng, &SHORTFALL_WEIGHTS);
                    if !missing.contains(&item) {
                        missing.push(item);
                    }
                }
            }
            (
                id,
                UnitDetails {
                    credit_code: code,
                    address: Some(address),
                    phone: Some(phone),
                    leader: Some(leader),
                    founded_on: Some(founded),
                    status,
                },
                missing,
            )
        })
        .collect()
}

/// The assessment rows of one unit: every default item, met unless missing.
pub(super) fn assessment_rows<'a>(
    id: OrgId,
    missing: &'a [&'static str],
    on: NaiveDate,
) -> impl Iterator<Item = wuyou_assessments::ActiveModel> + 'a {
    SHORTFALL_WEIGHTS.iter().map(move |(code, _)| {
        let met = !missing.contains(code);
        wuyou_assessments::ActiveModel {
            org_id: Set(id.0),
            item_code: Set((*code).to_owned()),
            met: Set(met),
            evidence: Set((!met).then(|| "待整改".to_owned())),
            assessed_on: Set(on),
            assessed_by: Set("system".to_owned()),
        }
    })
}

/// The number of demo districts, checked against [`DISTRICTS`].
const _: () = assert!(UNITS_PER_DISTRICT.len() == DISTRICTS.len());
