//! Members, dues and councils in the store, on the backend the testkit picks:
//! the demo's members (valid, unique, encrypted ID numbers), dues and lapses
//! consistent with the rules, councils for the city and every district.

use boai_domain::members::{DuesStanding, MemberStatus, DEFAULT_LAPSE_AFTER};
use boai_store::demo::{org_id, DISTRICTS};
use boai_store::members::MemberFilter;
use boai_testkit::actor;
use std::collections::{HashMap, HashSet};

#[tokio::test]
async fn demo_members_have_valid_ids_and_consistent_dues() -> anyhow::Result<()> {
    let (store, _, _db) = boai_testkit::demo_store().await?;
    let shi = store.scoped(actor(&store, "shi").await?);
    let members = shi.members_all(&MemberFilter::default()).await?;
    assert!(members.len() > 4_000, "a few members per unit: {}", members.len());
    let numbers: HashSet<&str> = members.iter().map(|m| m.member_no.as_str()).collect();
    assert_eq!(numbers.len(), members.len(), "member numbers are unique");
    let masked: Vec<&String> = members.iter().filter_map(|m| m.id_card_masked.as_ref()).collect();
    assert!(masked.len() > members.len() * 3 / 4);
    assert!(masked.iter().all(|m| m.len() == 18 && m.contains("***********")));
    let lapsed = members.iter().filter(|m| m.status == MemberStatus::Lapsed).count();
    let in_arrears = members
        .iter()
        .filter(|m| m.status == MemberStatus::Active && !m.arrears_years.is_empty())
        .count();
    assert!(lapsed > 0 && lapsed < members.len() / 5, "some lapsed: {lapsed}");
    assert!(in_arrears > members.len() / 10, "realistic arrears: {in_arrears}");
    // Nobody left active who should have lapsed.
    let rates = store.dues_rates().await?;
    let year = store.dues_year();
    for m in members.iter().filter(|m| m.status == MemberStatus::Active) {
        if m.member_no.ends_with("-0001") && m.unit_code.starts_with("JN-LX-00") {
            let view = shi.member_get(m.id).await.ok();
            let paid: HashSet<i32> = view.iter().flat_map(|v| v.payments.iter().map(|p| p.year)).collect();
            let standing = DuesStanding {
                type_code: &m.type_code,
                joined_on: m.joined_on,
                status: m.status,
                lapsed_on: m.lapsed_on,
            };
            assert!(
                !standing.should_lapse(year, &paid, &rates, DEFAULT_LAPSE_AFTER),
                "{}",
                m.member_no
            );
            assert_eq!(standing.arrears(year, &paid, &rates), m.arrears_years);
        }
    }
    assert_eq!(shi.members_lapse().await?, 0, "the demo lapsed everyone due");
    // Councils for the city and every district, with minutes.
    for code in std::iter::once("JN").chain(DISTRICTS.iter().map(|(c, _, _)| *c)) {
        let view = shi.council_view(org_id(code)).await?;
        let bodies: HashMap<_, usize> = view.members.iter().fold(HashMap::new(), |mut acc, m| {
            *acc.entry(m.body).or_default() += 1;
            acc
        });
        assert_eq!(bodies.len(), 3, "{code}");
        assert!(view.meetings.len() >= 2, "{code}");
        let minutes = shi.meeting_minutes(view.meetings[0].id).await?;
        assert!(minutes.bytes.starts_with(b"%PDF-"));
    }
    Ok(())
}
