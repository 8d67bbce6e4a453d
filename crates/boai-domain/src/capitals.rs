//! Amounts in Chinese financial capitals (中文大写金额).
//!
//! [`fen_to_capitals`] writes an amount held in fen (分, 1/100 yuan) the way it is
//! written on Chinese receipts, bank slips and donation certificates, following the
//! conventions of 《支付结算办法》 (附件《正确填写票据和结算凭证的基本规定》) and the
//! usual GB/T practice.
//!
//! Rules this module applies (where the regulations allow a choice, the choice is noted):
//!
//! * Digits are 零壹贰叁肆伍陆柒捌玖; units inside a four-digit group are 拾佰仟;
//!   groups are joined by 万 and 亿 (亿 repeats for larger amounts: 万亿, 亿亿), then
//!   元, 角, 分.
//! * A leading ten is written **壹拾** ("壹拾元", "壹拾万元"), never a bare 拾: the
//!   bank-safe form that cannot be altered by adding a digit in front.
//! * One or more zeros between non-zero digits of the yuan part are written as a single
//!   零, including across 万/亿 boundaries: 1,000,100 元 → 壹佰万零壹佰元.
//!   Trailing zeros of the yuan part are not written (壹万元, not 壹万零元).
//! * When the yuan part ends in 0 and 角 is non-zero, **no** 零 is written between 元 and
//!   角 (the regulations allow either; we write 壹拾元壹角整, not 壹拾元零壹角整).
//! * When 角 is 0 and 分 is not, 零 is written between 元 and 分: 壹元零伍分.
//! * 整 is written when 分 is 0: after 元 (壹元整) and also after 角 (壹角整, which the
//!   regulations allow but do not require). Nothing follows 分.
//! * An amount below one yuan has no 零元 in front: 伍角陆分, 伍分.
//! * Zero is 零元整; a negative amount gets the prefix 负.
//!
//! The computation runs on `u128`, so every `i64`, including `i64::MIN`, is handled.

const DIGITS: [char; 10] = ['零', '壹', '贰', '叁', '肆', '伍', '陆', '柒', '捌', '玖'];
const SMALL_UNITS: [&str; 4] = ["", "拾", "佰", "仟"];
const WAN: u128 = 10_000;
const YI: u128 = 100_000_000;

/// Writes `fen` (hundredths of a yuan) in Chinese financial capitals, e.g.
/// `123456` → `"壹仟贰佰叁拾肆元伍角陆分"`. See the module documentation for the rules.
pub fn fen_to_capitals(fen: i64) -> String {
    let abs = u128::from(fen.unsigned_abs());
    if abs == 0 {
        return "零元整".to_owned();
    }
    let yuan = abs / 100;
    let jiao = abs / 10 % 10;
    let fen_digit = abs % 10;

    let mut out = String::new();
    if fen < 0 {
        out.push('负');
    }
    if yuan > 0 {
        push_integer(&mut out, yuan);
        out.push('元');
    }
    if jiao > 0 {
        push_digit(&mut out, jiao);
        out.push('角');
    } else if fen_digit > 0 && yuan > 0 {
        out.push('零');
    }
    if fen_digit > 0 {
        push_digit(&mut out, fen_digit);
        out.push('分');
    } else {
        out.push('整');
    }
    out
}

fn push_digit(out: &mut String, digit: u128) {
    // `digit` is always < 10 here; `get` keeps clippy's indexing rules happy anyway.
    if let Some(c) = usize::try_from(digit).ok().and_then(|d| DIGITS.get(d)) {
        out.push(*c);
    }
}

/// Writes a positive integer. Larger than 亿: the part above 亿 is written recursively
/// (so 10^12 is 壹万亿 and 10^16 is 壹亿亿), then 亿, then the rest.
fn push_integer(out: &mut String, n: u128) {
    if n >= YI {
        push_integer(out, n / YI);
        out.push('亿');
        let rest = n % YI;
        if rest > 0 {
            // The rest is an eight-digit group; if its leading digit is 0 a 零 bridges the gap.
            if rest < YI / 10 {
                out.push('零');
            }
            push_below_yi(out, rest);
        }
    } else {
        push_below_yi(out, n);
    }
}

/// Writes 1 ≤ n < 10^8 (with 万 between the two four-digit groups).
fn push_below_yi(out: &mut String, n: u128) {
    if n >= WAN {
        push_group(out, n / WAN);
        out.push('万');
        let rest = n % WAN;
        if rest > 0 {
            if rest < WAN / 10 {
                out.push('零');
            }
            push_group(out, rest);
        }
    } else {
        push_group(out, n);
    }
}

/// Writes 1 ≤ n < 10^4: leading zeros are skipped (callers bridge them), inner runs of
/// zeros collapse to one 零, trailing zeros are dropped.
fn push_group(out: &mut String, n: u128) {
    let mut pending_zero = false;
    let mut started = false;
    for pos in (0..4u32).rev() {
        let digit = n / 10u128.pow(pos) % 10;
        if digit == 0 {
            pending_zero = started;
            continue;
        }
        if pending_zero {
            out.push('零');
            pending_zero = false;
        }
        push_digit(out, digit);
        if let Some(unit) = SMALL_UNITS.get(pos as usize) {
            out.push_str(unit);
        }
        started = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn required_examples() {
        let cases: &[(i64, &str)] = &[
            (123_456, "壹仟贰佰叁拾肆元伍角陆分"),
            (100, "壹元整"),
            (1_000_000, "壹万元整"),
            (10, "壹角整"),
            (5, "伍分"),
            (56, "伍角陆分"),
            (105, "壹元零伍分"),
            (100_005, "壹仟元零伍分"),
            (1_010, "壹拾元壹角整"),
            (10_000_000_000, "壹亿元整"),
            (100_010_000, "壹佰万零壹佰元整"),
            (0, "零元整"),
        ];
        for (fen, want) in cases {
            assert_eq!(fen_to_capitals(*fen), *want, "fen = {fen}");
        }
    }

    #[test]
    fn zeros_and_groups() {
        let cases: &[(i64, &str)] = &[
            (1_000, "壹拾元整"),
            (1_100, "壹拾壹元整"),
            (10_100, "壹佰零壹元整"),
            (100_100, "壹仟零壹元整"),
            (1_001_000, "壹万零壹拾元整"),
            (1_000_100, "壹万零壹元整"),
            (1_100_000, "壹万壹仟元整"),
            (10_010_000_000, "壹亿零壹拾万元整"),
            (10_001_000_000, "壹亿零壹万元整"),
            (10_000_000_100, "壹亿零壹元整"),
            (11_000_000_000, "壹亿壹仟万元整"),
            (10_100_000_000, "壹亿零壹佰万元整"),
            (100_000_000_000_000, "壹万亿元整"),
            (100_000_001_000_000, "壹万亿零壹万元整"),
            (1_000_000_000_000_000_000, "壹亿亿元整"),
            (168_032, "壹仟陆佰捌拾元叁角贰分"),
            (140_950, "壹仟肆佰零玖元伍角整"),
            (32_500_000_000, "叁亿贰仟伍佰万元整"),
            (1_010_101, "壹万零壹佰零壹元零壹分"),
            (-123_456, "负壹仟贰佰叁拾肆元伍角陆分"),
            (-5, "负伍分"),
        ];
        for (fen, want) in cases {
            assert_eq!(fen_to_capitals(*fen), *want, "fen = {fen}");
        }
    }

    #[test]
    fn extremes() {
        assert_eq!(
            fen_to_capitals(i64::MAX),
            "玖亿贰仟贰佰叁拾叁万柒仟贰佰零叁亿陆仟捌佰伍拾肆万柒仟柒佰伍拾捌元零柒分"
        );
        assert_eq!(
            fen_to_capitals(i64::MIN),
            "负玖亿贰仟贰佰叁拾叁万柒仟贰佰零叁亿陆仟捌佰伍拾肆万柒仟柒佰伍拾捌元零捌分"
        );
    }

    /// Reads capitals back into fen, to check that the writing loses nothing.
    fn parse_capitals(s: &str) -> Option<i128> {
        let (negative, s) = match s.strip_prefix('负') {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let (yuan_text, frac_text) = match s.split_once('元') {
            Some((y, f)) => (y, f),
            None => ("", s),
        };
        let digit_of = |c: char| DIGITS.iter().position(|d| *d == c).map(|d| d as i128);

        let (mut total, mut section, mut number) = (0i128, 0i128, 0i128);
        for c in yuan_text.chars() {
            match c {
                '拾' => {
                    section += number * 10;
                    number = 0;
                }
                '佰' => {
                    section += number * 100;
                    number = 0;
                }
                '仟' => {
                    section += number * 1000;
                    number = 0;
                }
                '万' => {
                    section = (section + number) * 10_000;
                    number = 0;
                }
                '亿' => {
                    total = (total + section + number) * 100_000_000;
                    section = 0;
                    number = 0;
                }
                '零' => {}
                c => number = digit_of(c)?,
            }
        }
        let yuan = total + section + number;

        let mut frac = 0i128;
        let mut last = 0i128;
        for c in frac_text.chars() {
            match c {
                '角' => frac += last * 10,
                '分' => frac += last,
                '零' | '整' => {}
                c => last = digit_of(c)?,
            }
        }
        let value = yuan * 100 + frac;
        Some(if negative { -value } else { value })
    }

    const ALLOWED: &str = "零壹贰叁肆伍陆柒捌玖拾佰仟万亿元角分整负";

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn well_formed(fen in any::<i64>()) {
            let s = fen_to_capitals(fen);
            prop_assert!(s.chars().all(|c| ALLOWED.contains(c)), "{s}");
            prop_assert!(!s.contains("零零"), "{s}");
            prop_assert!(!s.ends_with('零'), "{s}");
            prop_assert!(s.ends_with('整') || s.ends_with('分'), "{s}");
            prop_assert!(!s.starts_with('零') || fen == 0, "{s}");
            prop_assert_eq!(parse_capitals(&s), Some(i128::from(fen)), "{}", s);
        }

        #[test]
        fn well_formed_small(fen in -10_000_000_000i64..10_000_000_000i64) {
            let s = fen_to_capitals(fen);
            prop_assert!(!s.contains("零零"), "{s}");
            prop_assert!(!s.ends_with('零'), "{s}");
            prop_assert_eq!(parse_capitals(&s), Some(i128::from(fen)), "{}", s);
        }
    }
}
