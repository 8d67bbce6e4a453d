//! Chinese identity numbers: parsing, check characters and masking.
//!
//! - [`IdCardNo`]: resident identity number (身份证, GB 11643-1999). 18 characters,
//!   17 digits then a digit or `X`; positions 7-14 are the birth date (YYYYMMDD,
//!   year >= 1900); the last character is the ISO 7064 MOD 11-2 check character.
//!   Its `Debug` shows only the masked form and it is deliberately not `Serialize`.
//! - [`CreditCode`]: unified social credit code (统一社会信用代码, GB 32100-2015).
//!   18 characters from `0-9A-Z` without I, O, Z, S, V; the last is a MOD 31 check.
//! - [`Phone`]: mainland mobile number, 11 digits `1[3-9]…`, optional `+86`/`86`
//!   prefix, spaces and hyphens; its `Debug` is masked as well.
//!
//! Input is trimmed; letters are upper-cased. Errors carry Chinese messages.

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

// ---------------------------------------------------------------------------
// 身份证号码
// ---------------------------------------------------------------------------

/// ISO 7064 MOD 11-2 weights of the first 17 digits.
const ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/// Check character by `sum % 11`.
const ID_CHECK_CHARS: &[u8; 11] = b"10X98765432";
/// Earliest birth year accepted.
const ID_MIN_YEAR: i32 = 1900;

/// Check character of a resident identity number from its first 17 characters.
///
/// Returns `None` unless `first17` is exactly 17 ASCII digits.
pub fn id_card_check_char(first17: &str) -> Option<char> {
    let bytes = first17.as_bytes();
    if bytes.len() != 17 || !bytes.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let sum: u32 = bytes.iter().zip(ID_WEIGHTS).map(|(b, w)| u32::from(b - b'0') * w).sum();
    ID_CHECK_CHARS.get((sum % 11) as usize).map(|&c| char::from(c))
}

/// Why a string is not a valid resident identity number.
///
/// Checked in this order: length, characters, birth date, check character.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IdCardError {
    #[error("身份证号码应为 18 位")]
    Length,
    #[error("身份证号码只能包含数字, 最后一位可为 X")]
    Characters,
    #[error("身份证号码中的出生日期无效")]
    BirthDate,
    #[error("身份证号码校验位不正确")]
    CheckDigit,
}

/// A validated 18-character resident identity number (last character `0-9` or `X`).
///
/// `Debug` prints only [`IdCardNo::masked`]; there is no `Display` or `Serialize`,
/// so the full number leaves only through an explicit [`IdCardNo::as_str`].
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IdCardNo(String);

/// Birth date encoded in bytes 6..14 (YYYYMMDD) of an all-ASCII-digit number.
fn id_birth_date(digits: &[u8]) -> Option<NaiveDate> {
    let field = |range: std::ops::Range<usize>| -> Option<u32> {
        digits.get(range)?.iter().try_fold(0u32, |acc, b| {
            b.is_ascii_digit().then(|| acc * 10 + u32::from(b - b'0'))
        })
    };
    let year = i32::try_from(field(6..10)?).ok()?;
    let month = field(10..12)?;
    let day = field(12..14)?;
    if year < ID_MIN_YEAR {
        return None;
    }
    NaiveDate::from_ymd_opt(year, month, day)
}

impl IdCardNo {
    /// Parses and validates; surrounding whitespace is ignored, `x` becomes `X`.
    pub fn parse(input: &str) -> Result<Self, IdCardError> {
        let trimmed = input.trim();
        if trimmed.chars().count() != 18 {
            return Err(IdCardError::Length);
        }
        let normalised = trimmed.to_ascii_uppercase();
        let bytes = normalised.as_bytes();
        // 18 chars but not 18 bytes means non-ASCII, which is a character error.
        let (body, last) = match bytes.split_last() {
            Some((&last, body)) if bytes.len() == 18 => (body, last),
            _ => return Err(IdCardError::Characters),
        };
        if !body.iter().all(u8::is_ascii_digit) || !(last.is_ascii_digit() || last == b'X') {
            return Err(IdCardError::Characters);
        }
        if id_birth_date(bytes).is_none() {
            return Err(IdCardError::BirthDate);
        }
        let expected = normalised.get(..17).and_then(id_card_check_char);
        if expected != Some(char::from(last)) {
            return Err(IdCardError::CheckDigit);
        }
        Ok(Self(normalised))
    }

    /// The full normalised number. Never log it; use [`IdCardNo::masked`].
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// First 3 and last 4 characters with 11 asterisks between, e.g. `110***********002X`.
    pub fn masked(&self) -> String {
        crate::privacy::mask::id_card(&self.0)
    }

    /// The birth date encoded in positions 7-14.
    pub fn birth_date(&self) -> NaiveDate {
        // Always `Some`: `parse` is the only constructor and checked the date.
        id_birth_date(self.0.as_bytes()).unwrap_or(NaiveDate::MIN)
    }
}

impl fmt::Debug for IdCardNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("IdCardNo").field(&self.masked()).finish()
    }
}

impl FromStr for IdCardNo {
    type Err = IdCardError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

// ---------------------------------------------------------------------------
// 统一社会信用代码
// ---------------------------------------------------------------------------

/// GB 32100-2015 code alphabet (no I, O, Z, S, V); a character's value is its index.
const CREDIT_ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
/// Weights of the first 17 characters (3^i mod 31).
const CREDIT_WEIGHTS: [u32; 17] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

fn credit_value(c: u8) -> Option<u32> {
    CREDIT_ALPHABET
        .iter()
        .position(|&a| a == c)
        .and_then(|i| u32::try_from(i).ok())
}

/// Check character of a unified social credit code from its first 17 characters.
///
/// Returns `None` unless `first17` is exactly 17 characters of the (upper-case)
/// code alphabet `0123456789ABCDEFGHJKLMNPQRTUWXY`.
pub fn credit_code_check_char(first17: &str) -> Option<char> {
    let bytes = first17.as_bytes();
    if bytes.len() != 17 {
        return None;
    }
    let mut sum = 0u32;
    for (&b, w) in bytes.iter().zip(CREDIT_WEIGHTS) {
        sum += credit_value(b)? * w;
    }
    CREDIT_ALPHABET
        .get(((31 - sum % 31) % 31) as usize)
        .map(|&c| char::from(c))
}

/// Why a string is not a valid unified social credit code.
///
/// Checked in this order: length, characters, check character.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CreditCodeError {
    #[error("统一社会信用代码应为 18 位")]
    Length,
    #[error("统一社会信用代码含有无效字符")]
    Characters,
    #[error("统一社会信用代码校验位不正确")]
    CheckDigit,
}

/// A validated 18-character unified social credit code, stored upper-case.
///
/// Serialises as a plain string; deserialising validates through [`CreditCode::parse`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CreditCode(String);

impl CreditCode {
    /// Parses and validates; surrounding whitespace is ignored, letters are upper-cased.
    pub fn parse(input: &str) -> Result<Self, CreditCodeError> {
        let trimmed = input.trim();
        if trimmed.chars().count() != 18 {
            return Err(CreditCodeError::Length);
        }
        let normalised = trimmed.to_ascii_uppercase();
        let bytes = normalised.as_bytes();
        if bytes.len() != 18 || bytes.iter().any(|&b| credit_value(b).is_none()) {
            return Err(CreditCodeError::Characters);
        }
        let expected = normalised.get(..17).and_then(credit_code_check_char);
        if expected != bytes.last().map(|&b| char::from(b)) {
            return Err(CreditCodeError::CheckDigit);
        }
        Ok(Self(normalised))
    }

    /// The normalised code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CreditCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for CreditCode {
    type Err = CreditCodeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for CreditCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for CreditCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

// ---------------------------------------------------------------------------
// 手机号码
// ---------------------------------------------------------------------------

/// Why a string is not a mainland mobile number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("手机号码格式不正确")]
    Invalid,
}

/// A mainland mobile number, normalised to 11 digits (`1[3-9]` + 9 digits).
///
/// `Debug` prints only [`Phone::masked`].
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Phone(String);

impl Phone {
    /// Parses `13800138000`, `138 0013 8000`, `+86 138-0013-8000`, `8613800138000`, ….
    pub fn parse(input: &str) -> Result<Self, PhoneError> {
        let compact: String = input.trim().chars().filter(|&c| c != ' ' && c != '-').collect();
        let digits = match compact.strip_prefix("+86") {
            Some(rest) => rest,
            None if compact.len() == 13 => compact.strip_prefix("86").unwrap_or(&compact),
            None => &compact,
        };
        let bytes = digits.as_bytes();
        let valid = bytes.len() == 11
            && bytes.iter().all(u8::is_ascii_digit)
            && bytes.first() == Some(&b'1')
            && bytes.get(1).is_some_and(|b| (b'3'..=b'9').contains(b));
        if valid {
            Ok(Self(digits.to_owned()))
        } else {
            Err(PhoneError::Invalid)
        }
    }

    /// The 11 digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// First 3 and last 4 digits, e.g. `138****8000`.
    pub fn masked(&self) -> String {
        crate::privacy::mask::phone(&self.0)
    }

    /// The last 4 digits, e.g. `8000`.
    pub fn tail4(&self) -> &str {
        self.0.get(7..).unwrap_or_default()
    }
}

impl fmt::Debug for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Phone").field(&self.masked()).finish()
    }
}

impl FromStr for Phone {
    type Err = PhoneError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Datelike;
    use proptest::prelude::*;

    // ---- 身份证 ----

    #[test]
    fn id_card_gb11643_example() {
        // Public example from GB 11643-1999, check character verified by hand.
        let id = IdCardNo::parse("11010519491231002X").unwrap();
        assert_eq!(id.as_str(), "11010519491231002X");
        assert_eq!(id.birth_date(), NaiveDate::from_ymd_opt(1949, 12, 31).unwrap());
        assert_eq!(id_card_check_char("11010519491231002"), Some('X'));
    }

    #[test]
    fn id_card_lowercase_x_and_whitespace_normalised() {
        let id = IdCardNo::parse("  11010519491231002x\n").unwrap();
        assert_eq!(id.as_str(), "11010519491231002X");
        assert_eq!("11010519491231002x".parse::<IdCardNo>().unwrap(), id);
    }

    #[test]
    fn id_card_generated_examples() {
        for body in [
            "44030420000229123", // leap day
            "32010219991231004",
            "51010719000101555",
            "65010120991231999",
        ] {
            let c = id_card_check_char(body).unwrap();
            let full = format!("{body}{c}");
            let id = IdCardNo::parse(&full).unwrap();
            assert_eq!(id.as_str(), full);
        }
        let id = IdCardNo::parse(&format!(
            "44030420000229123{}",
            id_card_check_char("44030420000229123").unwrap()
        ))
        .unwrap();
        assert_eq!(id.birth_date().year(), 2000);
        assert_eq!(id.birth_date().month(), 2);
        assert_eq!(id.birth_date().day(), 29);
    }

    #[test]
    fn id_card_length_error() {
        assert_eq!(IdCardNo::parse(""), Err(IdCardError::Length));
        assert_eq!(IdCardNo::parse("11010519491231002"), Err(IdCardError::Length));
        assert_eq!(IdCardNo::parse("11010519491231002X1"), Err(IdCardError::Length));
        // 15-digit first-generation numbers are not accepted.
        assert_eq!(IdCardNo::parse("110105491231002"), Err(IdCardError::Length));
        assert_eq!(IdCardError::Length.to_string(), "身份证号码应为 18 位");
    }

    #[test]
    fn id_card_characters_error() {
        assert_eq!(IdCardNo::parse("1101051949123100XX"), Err(IdCardError::Characters));
        assert_eq!(IdCardNo::parse("11010519491231002Y"), Err(IdCardError::Characters));
        assert_eq!(IdCardNo::parse("1101051949 231002X"), Err(IdCardError::Characters));
        // Full-width digits: 18 chars, not ASCII.
        assert_eq!(
            IdCardNo::parse("１１０１０５１９４９１２３１００２Ｘ"),
            Err(IdCardError::Characters)
        );
        assert_eq!(
            IdCardError::Characters.to_string(),
            "身份证号码只能包含数字, 最后一位可为 X"
        );
    }

    #[test]
    fn id_card_birth_date_error() {
        // Correct check character but born in 1880.
        assert_eq!(id_card_check_char("44052418800101001"), Some('4'));
        assert_eq!(IdCardNo::parse("440524188001010014"), Err(IdCardError::BirthDate));
        for bad in [
            "11010518991231002X", // 1899
            "11010519490229002X", // 1949 is not a leap year
            "11010519491301002X", // month 13
            "11010519491200002X", // month 12, day 0
            "11010519490431002X", // 31 April
            "11010500000101002X", // year 0
        ] {
            assert_eq!(IdCardNo::parse(bad), Err(IdCardError::BirthDate), "{bad}");
        }
        assert_eq!(IdCardError::BirthDate.to_string(), "身份证号码中的出生日期无效");
    }

    #[test]
    fn id_card_check_digit_error() {
        assert_eq!(IdCardNo::parse("110105194912310021"), Err(IdCardError::CheckDigit));
        assert_eq!(IdCardError::CheckDigit.to_string(), "身份证号码校验位不正确");
    }

    #[test]
    fn id_card_masked_and_debug() {
        let id = IdCardNo::parse("11010519491231002X").unwrap();
        assert_eq!(id.masked(), "110***********002X");
        assert_eq!(id.masked().chars().count(), 18);
        let debug = format!("{id:?}");
        assert!(!debug.contains("11010519491231002X"), "{debug}");
        assert!(!debug.contains("19491231"), "{debug}");
        assert!(debug.contains("110***********002X"), "{debug}");
        let pretty = format!("{:#?}", Some(&id));
        assert!(!pretty.contains("19491231"), "{pretty}");
    }

    #[test]
    fn id_card_check_char_rejects_bad_input() {
        assert_eq!(id_card_check_char(""), None);
        assert_eq!(id_card_check_char("1101051949123100"), None);
        assert_eq!(id_card_check_char("110105194912310021"), None);
        assert_eq!(id_card_check_char("1101051949123100A"), None);
    }

    // ---- 统一社会信用代码 ----

    #[test]
    fn credit_code_known_example() {
        // Check character verified by hand.
        let code = CreditCode::parse("91350100M000100Y43").unwrap();
        assert_eq!(code.as_str(), "91350100M000100Y43");
        assert_eq!(code.to_string(), "91350100M000100Y43");
        assert_eq!(credit_code_check_char("91350100M000100Y4"), Some('3'));
    }

    #[test]
    fn credit_code_lowercase_and_whitespace_normalised() {
        let code = CreditCode::parse(" 91350100m000100y43 ").unwrap();
        assert_eq!(code.as_str(), "91350100M000100Y43");
    }

    #[test]
    fn credit_code_generated_examples() {
        for body in [
            "91110000100000000",
            "12100000400000000",
            "53440300MJL000000",
            "Y1YYYYYYYYYYYYYYY",
        ] {
            let c = credit_code_check_char(body).unwrap();
            let full = format!("{body}{c}");
            assert_eq!(CreditCode::parse(&full).unwrap().as_str(), full);
        }
    }

    #[test]
    fn credit_code_errors() {
        assert_eq!(CreditCode::parse(""), Err(CreditCodeError::Length));
        assert_eq!(CreditCode::parse("91350100M000100Y4"), Err(CreditCodeError::Length));
        for bad in [
            "91350100I000100Y43",
            "91350100O000100Y43",
            "91350100Z000100Y43",
            "91350100S000100Y43",
            "91350100V000100Y43",
            "91350100-000100Y43",
            "9135０100M000100Y43",
        ] {
            assert_eq!(CreditCode::parse(bad), Err(CreditCodeError::Characters), "{bad}");
        }
        assert_eq!(
            CreditCode::parse("91350100M000100Y44"),
            Err(CreditCodeError::CheckDigit)
        );
        assert_eq!(CreditCodeError::Length.to_string(), "统一社会信用代码应为 18 位");
        assert_eq!(CreditCodeError::Characters.to_string(), "统一社会信用代码含有无效字符");
        assert_eq!(CreditCodeError::CheckDigit.to_string(), "统一社会信用代码校验位不正确");
    }

    #[test]
    fn credit_code_serde() {
        let code = CreditCode::parse("91350100M000100Y43").unwrap();
        let json = serde_json::to_string(&code).unwrap();
        assert_eq!(json, "\"91350100M000100Y43\"");
        let back: CreditCode = serde_json::from_str(&json).unwrap();
        assert_eq!(back, code);
        assert!(serde_json::from_str::<CreditCode>("\"91350100M000100Y44\"").is_err());
    }

    #[test]
    fn credit_code_check_char_rejects_bad_input() {
        assert_eq!(credit_code_check_char(""), None);
        assert_eq!(credit_code_check_char("91350100M000100Y"), None);
        assert_eq!(credit_code_check_char("91350100m000100Y4"), None);
        assert_eq!(credit_code_check_char("91350100I000100Y4"), None);
    }

    // ---- 手机号码 ----

    #[test]
    fn phone_accepts_common_forms() {
        for input in [
            "13800138000",
            " 13800138000 ",
            "138 0013 8000",
            "138-0013-8000",
            "+8613800138000",
            "+86 138 0013 8000",
            "+86-138-0013-8000",
            "8613800138000",
            "86 138 0013 8000",
        ] {
            let phone = Phone::parse(input).unwrap();
            assert_eq!(phone.as_str(), "13800138000", "{input}");
        }
        for second in '3'..='9' {
            assert!(Phone::parse(&format!("1{second}000000000")).is_ok());
        }
    }

    #[test]
    fn phone_rejects_bad_forms() {
        for input in [
            "",
            "1380013800",
            "138001380001",
            "12800138000",
            "10800138000",
            "23800138000",
            "1380013800a",
            "+8513800138000",
            "+86+8613800138000",
            "008613800138000",
            "138.0013.8000",
            "１３８００１３８０００",
            "86138001380",
        ] {
            assert_eq!(Phone::parse(input), Err(PhoneError::Invalid), "{input}");
        }
        assert_eq!(PhoneError::Invalid.to_string(), "手机号码格式不正确");
    }

    #[test]
    fn phone_masked_tail_and_debug() {
        let phone = Phone::parse("+86 138-0013-8000").unwrap();
        assert_eq!(phone.masked(), "138****8000");
        assert_eq!(phone.tail4(), "8000");
        let debug = format!("{phone:?}");
        assert!(!debug.contains("13800138000"), "{debug}");
        assert!(debug.contains("138****8000"), "{debug}");
    }

    // ---- properties ----

    /// A 17-digit identity number body whose birth date is valid.
    fn id_body() -> impl Strategy<Value = String> {
        let min = NaiveDate::from_ymd_opt(1900, 1, 1).unwrap();
        (0u32..1_000_000, 0i64..73_049, 0u32..1_000).prop_map(move |(area, days, seq)| {
            let date = min + chrono::Duration::days(days);
            format!("{area:06}{}{seq:03}", date.format("%Y%m%d"))
        })
    }

    proptest! {
        #[test]
        fn id_card_valid_body_parses_only_with_its_check_char(body in id_body()) {
            let check = id_card_check_char(&body).unwrap();
            let full = format!("{body}{check}");
            let id = IdCardNo::parse(&full).unwrap();
            prop_assert_eq!(id.as_str(), full.as_str());
            prop_assert_eq!(id.birth_date().format("%Y%m%d").to_string(), &body[6..14]);
            prop_assert_eq!(IdCardNo::parse(id.as_str()).unwrap(), id.clone());
            let debug = format!("{:?}", id);
            prop_assert!(!debug.contains(&body[3..14]));
            for other in "0123456789X".chars().filter(|&c| c != check) {
                prop_assert_eq!(
                    IdCardNo::parse(&format!("{body}{other}")),
                    Err(IdCardError::CheckDigit)
                );
            }
        }

        #[test]
        fn credit_code_body_parses_only_with_its_check_char(
            body in proptest::collection::vec(0usize..31, 17)
                .prop_map(|ix| ix.into_iter().map(|i| char::from(CREDIT_ALPHABET[i])).collect::<String>())
        ) {
            let check = credit_code_check_char(&body).unwrap();
            let full = format!("{body}{check}");
            let code = CreditCode::parse(&full).unwrap();
            prop_assert_eq!(code.as_str(), full.as_str());
            prop_assert_eq!(CreditCode::parse(&full.to_ascii_lowercase()).unwrap(), code.clone());
            for other in CREDIT_ALPHABET.iter().map(|&b| char::from(b)).filter(|&c| c != check) {
                prop_assert_eq!(
                    CreditCode::parse(&format!("{body}{other}")),
                    Err(CreditCodeError::CheckDigit)
                );
            }
        }

        #[test]
        fn parsers_never_panic_on_arbitrary_strings(s in any::<String>()) {
            let _ = IdCardNo::parse(&s);
            let _ = CreditCode::parse(&s);
            let _ = Phone::parse(&s);
            let _ = id_card_check_char(&s);
            let _ = credit_code_check_char(&s);
        }

        #[test]
        fn parsers_never_panic_on_near_miss_strings(s in "[ +0-9A-Za-z０-９-]{0,22}") {
            if let Ok(id) = IdCardNo::parse(&s) {
                prop_assert_eq!(id.as_str().len(), 18);
                let _ = id.birth_date();
                prop_assert_eq!(id.masked().len(), 18);
            }
            if let Ok(code) = CreditCode::parse(&s) {
                prop_assert_eq!(code.as_str().len(), 18);
            }
            if let Ok(phone) = Phone::parse(&s) {
                prop_assert_eq!(phone.as_str().len(), 11);
                prop_assert_eq!(phone.masked().len(), 11);
            }
        }

        #[test]
        fn phone_roundtrips_with_decorations(
            second in 3u8..=9,
            rest in "[0-9]{9}",
            prefix in prop_oneof![Just(""), Just("+86"), Just("86"), Just("+86 "), Just("86-")],
        ) {
            let digits = format!("1{second}{rest}");
            let spaced = format!("{prefix}{} {}-{}", &digits[..3], &digits[3..7], &digits[7..]);
            let phone = Phone::parse(&spaced).unwrap();
            prop_assert_eq!(phone.as_str(), digits.as_str());
            prop_assert_eq!(phone.tail4(), &digits[7..]);
        }
    }
}
