//! Money is integer fen (分). Never a float: arithmetic is checked, and
//! amounts are shown as ¥1,234.56.

use serde::{Deserialize, Serialize};

/// An amount of money in fen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Fen(pub i64);

impl Fen {
    pub const ZERO: Fen = Fen(0);

    pub fn checked_add(self, other: Fen) -> Option<Fen> {
        self.0.checked_add(other.0).map(Fen)
    }

    pub fn checked_sub(self, other: Fen) -> Option<Fen> {
        self.0.checked_sub(other.0).map(Fen)
    }

    /// `¥1,234.56`, negative as `-¥1,234.56`.
    pub fn display_yuan(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let yuan = group_thousands(abs / 100);
        format!("{sign}¥{yuan}.{:02}", abs % 100)
    }
}

impl std::fmt::Display for Fen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.display_yuan())
    }
}

/// Parses yuan as people type them (`1234.56`, `1,234.5`, `¥100`) into fen,
/// exactly (no floating point). `None` for anything else or more than two
/// decimals.
pub fn parse_yuan(raw: &str) -> Option<Fen> {
    let cleaned: String = raw
        .trim()
        .trim_start_matches(['¥', '￥'])
        .chars()
        .filter(|c| *c != ',')
        .collect();
    let (whole, frac) = match cleaned.split_once('.') {
        Some((w, f)) => (w, f),
        None => (cleaned.as_str(), ""),
    };
    if whole.is_empty()
        || !whole.chars().all(|c| c.is_ascii_digit())
        || frac.len() > 2
        || !frac.chars().all(|c| c.is_ascii_digit())
    {
        return None;
    }
    let whole: i64 = whole.parse().ok()?;
    let frac: i64 = format!("{frac:0<2}").parse().ok()?;
    whole.checked_mul(100)?.checked_add(frac).map(Fen)
}

/// `1234567` → `1,234,567`.
pub fn group_thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_yuan_with_separators() {
        assert_eq!(Fen(123_456).display_yuan(), "¥1,234.56");
        assert_eq!(Fen(5).display_yuan(), "¥0.05");
        assert_eq!(Fen(-100_000_000).display_yuan(), "-¥1,000,000.00");
        assert_eq!(Fen(i64::MIN).display_yuan(), "-¥92,233,720,368,547,758.08");
    }

    #[test]
    fn parses_yuan_exactly() {
        assert_eq!(parse_yuan("1234.56"), Some(Fen(123_456)));
        assert_eq!(parse_yuan("¥1,234.5"), Some(Fen(123_450)));
        assert_eq!(parse_yuan("100"), Some(Fen(10_000)));
        assert_eq!(parse_yuan("0.01"), Some(Fen(1)));
        assert_eq!(parse_yuan("1.234"), None);
        assert_eq!(parse_yuan("-5"), None);
        assert_eq!(parse_yuan("abc"), None);
        assert_eq!(parse_yuan(""), None);
        assert_eq!(parse_yuan("99999999999999999999"), None);
    }

    #[test]
    fn checked_arithmetic() {
        assert_eq!(Fen(i64::MAX).checked_add(Fen(1)), None);
        assert_eq!(Fen(3).checked_sub(Fen(5)), Some(Fen(-2)));
    }
}
