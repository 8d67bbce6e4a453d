//! 身份证 (GB 11643), 统一社会信用代码 (GB 32100) and mobile numbers.
//! Properties: never panics; whatever is accepted is normalised and parses
//! again to itself (lower case too); its check character is the computed one;
//! a number made valid from the input's characters (check character computed)
//! is accepted, and with any other check character it is refused; the masked
//! forms hide the middle.
#![no_main]

use boai_domain::validation::identity::{
    credit_code_check_char, id_card_check_char, CreditCode, CreditCodeError, IdCardError, IdCardNo, Phone,
};
use libfuzzer_sys::fuzz_target;

const CREDIT_ALPHABET: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);

    if let Ok(id) = IdCardNo::parse(&text) {
        let s = id.as_str();
        assert_eq!(s.len(), 18);
        assert_eq!(IdCardNo::parse(s), Ok(id.clone()));
        assert_eq!(IdCardNo::parse(&s.to_ascii_lowercase()), Ok(id.clone()));
        assert_eq!(id_card_check_char(&s[..17]), s[17..].chars().next());
        let masked = id.masked();
        assert_eq!(masked.matches('*').count(), 11);
        assert!(!masked.contains(&s[3..14]) || s[3..14].chars().all(|c| c == '*'));
        assert!(id.birth_date().format("%Y%m%d").to_string() == s[6..14]);
    }
    // A number made from the input's bytes: 17 digits, then the check character.
    if data.len() >= 17 {
        let first17: String = data[..17].iter().map(|b| char::from(b'0' + b % 10)).collect();
        let check = id_card_check_char(&first17).expect("17 digits have a check character");
        let valid = format!("{first17}{check}");
        match IdCardNo::parse(&valid) {
            Ok(id) => assert_eq!(id.as_str(), valid),
            Err(e) => assert_eq!(e, IdCardError::BirthDate, "{valid}"),
        }
        let birth_ok = IdCardNo::parse(&valid).is_ok();
        for wrong in "0123456789X".chars().filter(|c| *c != check) {
            let r = IdCardNo::parse(&format!("{first17}{wrong}"));
            assert_eq!(r, Err(if birth_ok { IdCardError::CheckDigit } else { IdCardError::BirthDate }));
        }

        let first17: String = data[..17]
            .iter()
            .map(|b| char::from(CREDIT_ALPHABET[usize::from(*b) % CREDIT_ALPHABET.len()]))
            .collect();
        let check = credit_code_check_char(&first17).expect("alphabet characters");
        let valid = format!("{first17}{check}");
        let code = CreditCode::parse(&valid).expect("made valid");
        assert_eq!(code.as_str(), valid);
        assert_eq!(CreditCode::parse(&valid.to_ascii_lowercase()), Ok(code.clone()));
        let json = serde_json::to_string(&code).expect("serialises");
        assert_eq!(serde_json::from_str::<CreditCode>(&json).expect("deserialises"), code);
        let wrong = CREDIT_ALPHABET.iter().map(|b| char::from(*b)).find(|c| *c != check).expect("another");
        assert_eq!(CreditCode::parse(&format!("{first17}{wrong}")), Err(CreditCodeError::CheckDigit));
    }

    if let Ok(code) = CreditCode::parse(&text) {
        let s = code.as_str();
        assert_eq!(s.len(), 18);
        assert_eq!(CreditCode::parse(s), Ok(code.clone()));
        assert_eq!(credit_code_check_char(&s[..17]), s[17..].chars().next());
    }

    if let Ok(phone) = Phone::parse(&text) {
        let s = phone.as_str();
        assert!(s.len() == 11 && s.bytes().all(|b| b.is_ascii_digit()) && s.starts_with('1'));
        assert_eq!(Phone::parse(s), Ok(phone.clone()));
        assert_eq!(Phone::parse(&format!("+86 {s}")), Ok(phone.clone()));
        assert_eq!(Phone::parse(&format!("86{s}")), Ok(phone.clone()));
        assert_eq!(phone.tail4(), &s[7..]);
        assert_eq!(phone.masked(), format!("{}****{}", &s[..3], &s[7..]));
    }
});
