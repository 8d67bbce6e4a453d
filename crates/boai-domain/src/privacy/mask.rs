//! Masking personal data for screens, lists, exports and the API: the one
//! place these rules live (ID numbers, phones, bank accounts, names).
//!
//! Rules: a masked value never holds more than the first three and last four
//! characters of an ID number or phone, or the last four digits of a bank
//! account; anything too short to mask safely is masked whole.

/// `110***********002X`: the first 3 and last 4 characters of an 18-character
/// ID number with 11 asterisks between; a shorter value is all asterisks.
pub fn id_card(id: &str) -> String {
    let chars: Vec<char> = id.trim().chars().collect();
    if chars.len() < 18 {
        return "*".repeat(chars.len().max(4));
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 7))
}

/// `138****8000`: the first three and last four digits of a phone (any
/// separators dropped); `****` when it has fewer than 7 digits.
pub fn phone(p: &str) -> String {
    let digits: Vec<char> = p.chars().filter(char::is_ascii_digit).collect();
    if digits.len() < 7 {
        return "****".to_owned();
    }
    let head: String = digits[..3].iter().collect();
    let tail: String = digits[digits.len() - 4..].iter().collect();
    format!("{head}****{tail}")
}

/// `**** **** **** 1234`: the last four characters of a bank account.
pub fn bank_account(account: &str) -> String {
    let chars: Vec<char> = account.chars().filter(|c| !c.is_whitespace()).collect();
    if chars.len() < 8 {
        return "**** **** **** ****".to_owned();
    }
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("**** **** **** {tail}")
}

/// `张**`: a person's surname (first character) and one to three asterisks.
pub fn person_name(name: &str) -> String {
    let mut chars = name.chars();
    let first: String = chars.next().map(String::from).unwrap_or_default();
    format!("{first}{}", "*".repeat(chars.count().clamp(1, 3)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_numbers_keep_three_and_four() {
        assert_eq!(id_card("11010519491231002X"), "110***********002X");
        assert_eq!(id_card("1101"), "****");
    }

    #[test]
    fn phones_keep_three_and_four_digits() {
        assert_eq!(phone("13800138000"), "138****8000");
        assert_eq!(phone("138-0013-8000"), "138****8000");
        assert_eq!(phone("0531-86000000"), "053****0000");
        assert_eq!(phone("12345"), "****");
    }

    #[test]
    fn accounts_keep_the_last_four() {
        assert_eq!(bank_account("6222000011112222"), "**** **** **** 2222");
        assert_eq!(bank_account("6222 0000 1111 2222"), "**** **** **** 2222");
        assert_eq!(bank_account("123"), "**** **** **** ****");
    }

    #[test]
    fn names_keep_the_surname() {
        assert_eq!(person_name("张三"), "张*");
        assert_eq!(person_name("欧阳明月光"), "欧***");
    }
}
