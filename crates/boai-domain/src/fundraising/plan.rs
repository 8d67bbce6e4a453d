//! A gift planned as plain values, before any row exists. The store's one
//! gift writer (every gift: staff's, online payments', bank credits', the
//! demo's) turns a [`GiftPlan`] into rows; everything a gift's rows say
//! that follows from the input, the time, the numbers the store's
//! sequences handed out and the values it drew at random is decided here:
//! the certificate number, the date received, the journal entry's lines,
//! the name the public ledger shows, what the commitment opens to.
//!
//! Pure: no clock, no randomness, no I/O. The same arguments give the same
//! plan, which is what lets two ways of writing gifts be held to the same
//! bytes.

use super::{public_name, Channel, DonationForCreate, DonorForCreate, Goods};
use crate::clock::china_date;
use crate::funds::{self, EntryPlan, FundsError};
use crate::ids::{GiftId, JournalEntryId, ProjectId};
use crate::money::Fen;
use chrono::{DateTime, NaiveDate, Utc};

/// The numbers a gift takes from the store's sequences.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GiftNumbers {
    /// The `certificate` sequence's number (the certificate number's tail).
    pub certificate: i64,
    /// The journal entry's posting number.
    pub journal_seq: i64,
    /// The public ledger entry's index.
    pub ledger_index: u64,
}

/// What the writer draws at random for a gift: its ids and the salt of the
/// commitment the certificate holder can open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GiftDraw {
    pub gift_id: GiftId,
    pub entry_id: JournalEntryId,
    /// 32 lowercase hex digits.
    pub commitment_salt: String,
}

/// A gift as its rows will hold it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GiftRecord {
    pub id: GiftId,
    pub certificate_no: String,
    pub project_id: ProjectId,
    pub channel: Channel,
    pub amount: Fen,
    pub goods: Option<Goods>,
    pub received_on: NaiveDate,
    pub note: Option<String>,
    pub commitment_salt: String,
    /// When it was recorded (its journal entry's date too).
    pub at: DateTime<Utc>,
}

/// Everything a gift's rows say, decided before any is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GiftPlan {
    pub gift: GiftRecord,
    /// The journal entry: a gift, or goods in, to the gift's project.
    pub entry: EntryPlan,
    pub entry_id: JournalEntryId,
    pub journal_seq: i64,
    pub ledger_index: u64,
    /// The donor as the public ledger names them ([`public_donor`]).
    pub public_donor: String,
    /// The name the commitment binds (empty for an anonymous gift).
    pub committed_name: String,
}

/// The certificate number: the city's code, the year received (China
/// time), the `certificate` sequence's number in seven digits.
pub fn certificate_no(city_code: &str, received_on: NaiveDate, n: i64) -> String {
    format!("{city_code}-{}-{n:07}", received_on.format("%Y"))
}

/// The donor as the public ledger names them (see [`public_name`]).
pub fn public_donor(donor: Option<&DonorForCreate>) -> String {
    public_name(
        donor.map(DonorForCreate::kind),
        donor.map(DonorForCreate::name),
        donor.is_some_and(DonorForCreate::public),
    )
}

/// The gift's journal entry: goods in for a gift of goods, else a gift of
/// money; refused if the amount is not one or the lines do not balance.
pub fn entry_plan(input: &DonationForCreate) -> Result<EntryPlan, FundsError> {
    let plan = match input.goods {
        Some(_) => funds::goods_in(input.project_id, input.amount),
        None => funds::gift(input.project_id, input.amount),
    }?;
    plan.check_balanced()?;
    Ok(plan)
}

/// Plans `input`, recorded at `at`, with the numbers and draws given.
pub fn plan(
    input: &DonationForCreate,
    at: DateTime<Utc>,
    city_code: &str,
    numbers: GiftNumbers,
    draw: GiftDraw,
) -> Result<GiftPlan, FundsError> {
    let entry = entry_plan(input)?;
    let received_on = input.received_on.unwrap_or_else(|| china_date(at));
    let donor = input.donor.as_ref();
    Ok(GiftPlan {
        gift: GiftRecord {
            id: draw.gift_id,
            certificate_no: certificate_no(city_code, received_on, numbers.certificate),
            project_id: input.project_id,
            channel: input.channel,
            amount: input.amount,
            goods: input.goods.clone(),
            received_on,
            note: input.note.clone(),
            commitment_salt: draw.commitment_salt,
            at,
        },
        entry,
        entry_id: draw.entry_id,
        journal_seq: numbers.journal_seq,
        ledger_index: numbers.ledger_index,
        public_donor: public_donor(donor),
        committed_name: donor.map(DonorForCreate::name).unwrap_or("").to_owned(),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::funds::{AccountKind, EntryKind};
    use chrono::TimeZone;

    fn input(goods: Option<Goods>, donor: Option<DonorForCreate>) -> DonationForCreate {
        DonationForCreate {
            project_id: ProjectId(uuid::Uuid::from_u128(9)),
            amount: Fen(12_345),
            channel: Channel::Cash,
            donor,
            goods,
            received_on: None,
            note: Some("备注".to_owned()),
        }
    }

    fn draw() -> GiftDraw {
        GiftDraw {
            gift_id: GiftId(uuid::Uuid::from_u128(1)),
            entry_id: JournalEntryId(uuid::Uuid::from_u128(2)),
            commitment_salt: "00".repeat(16),
        }
    }

    const NUMBERS: GiftNumbers = GiftNumbers {
        certificate: 42,
        journal_seq: 7,
        ledger_index: 6,
    };

    #[test]
    fn a_gift_is_received_on_its_china_date_and_numbered_for_that_year() {
        // 2025-12-31 17:00 UTC is 2026-01-01 01:00 in China.
        let at = Utc.with_ymd_and_hms(2025, 12, 31, 17, 0, 0).unwrap();
        let planned = plan(&input(None, None), at, "JN", NUMBERS, draw()).unwrap();
        assert_eq!(planned.gift.received_on, NaiveDate::from_ymd_opt(2026, 1, 1).unwrap());
        assert_eq!(planned.gift.certificate_no, "JN-2026-0000042");
        assert_eq!(planned.entry.kind, EntryKind::Gift);
        assert_eq!(planned.entry.lines[0].account, AccountKind::Money);
        assert_eq!(planned.public_donor, "匿名");
        assert_eq!(planned.committed_name, "");
        assert_eq!((planned.journal_seq, planned.ledger_index), (7, 6));
        // A date given is kept, and its year numbers the certificate.
        let mut given = input(None, None);
        given.received_on = NaiveDate::from_ymd_opt(2025, 6, 1);
        assert_eq!(
            plan(&given, at, "JN", NUMBERS, draw()).unwrap().gift.certificate_no,
            "JN-2025-0000042"
        );
    }

    #[test]
    fn goods_go_in_as_goods_and_names_follow_consent() {
        let goods = Goods {
            item: "大米".to_owned(),
            quantity: 10,
            unit: "袋".to_owned(),
            value: Fen(12_345),
            lot: None,
            expires_on: None,
        };
        let person = DonorForCreate::Person {
            name: "王芳".to_owned(),
            phone: None,
            id_card: None,
            public: false,
        };
        let at = Utc.with_ymd_and_hms(2026, 3, 1, 2, 0, 0).unwrap();
        let planned = plan(&input(Some(goods), Some(person)), at, "JN", NUMBERS, draw()).unwrap();
        assert_eq!(planned.entry.kind, EntryKind::GoodsIn);
        assert_eq!(planned.entry.lines[0].account, AccountKind::Goods);
        assert_eq!(planned.public_donor, "王*");
        assert_eq!(planned.committed_name, "王芳");
        let mut nothing = input(None, None);
        nothing.amount = Fen(0);
        assert!(plan(&nothing, at, "JN", NUMBERS, draw()).is_err());
    }
}
