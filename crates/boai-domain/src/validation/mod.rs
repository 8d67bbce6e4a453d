//! Input is validated once, where it enters, into types that cannot hold bad
//! values. A broken rule is a [`FieldError`]: the field's name and a message in
//! Chinese that a page shows next to the field and the API returns in its
//! problem body.

pub mod identity;

use serde::Serialize;

/// One broken rule on one input field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// All the broken rules of one input.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct FieldErrors(pub Vec<FieldError>);

impl FieldErrors {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0.push(FieldError {
            field: field.to_owned(),
            message: message.into(),
        });
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The first message for `field`, for showing next to it on a form.
    pub fn for_field(&self, field: &str) -> Option<&str> {
        self.0.iter().find(|e| e.field == field).map(|e| e.message.as_str())
    }

    /// `Ok(value)` when no rule was broken.
    pub fn into_result<T>(self, value: T) -> Result<T, FieldErrors> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(self)
        }
    }
}

impl std::fmt::Display for FieldErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self.0.iter().map(|e| format!("{}: {}", e.field, e.message)).collect();
        f.write_str(&parts.join("; "))
    }
}

impl std::error::Error for FieldErrors {}

/// A required single-line text: trimmed, 1..=max characters, no control
/// characters. Records an error under `field` and returns `None` when broken.
pub fn required_text(
    errors: &mut FieldErrors,
    field: &str,
    label: &str,
    value: Option<&str>,
    max_chars: usize,
) -> Option<String> {
    let value = value.map(str::trim).unwrap_or_default();
    if value.is_empty() {
        errors.add(field, format!("请填写{label}"));
        return None;
    }
    checked_text(errors, field, label, value, max_chars)
}

/// An optional single-line text: empty means absent.
pub fn optional_text(
    errors: &mut FieldErrors,
    field: &str,
    label: &str,
    value: Option<&str>,
    max_chars: usize,
) -> Option<String> {
    let value = value.map(str::trim).unwrap_or_default();
    if value.is_empty() {
        return None;
    }
    checked_text(errors, field, label, value, max_chars)
}

/// Whether a character is invisible formatting that can spoof how a text
/// reads: zero-width characters (U+200B–U+200D, U+2060, U+FEFF), directional
/// marks (U+200E, U+200F, U+061C) and bidirectional embeddings, overrides and
/// isolates (U+202A–U+202E, U+2066–U+2069). A right-to-left override turns
/// `张三\u{202E}fdp.exe` into what reads as `张三exe.pdf`.
pub fn is_spoofing_char(c: char) -> bool {
    matches!(
        c,
        '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}' | '\u{061C}'
    )
}

/// A text without spoofing characters ([`is_spoofing_char`]): THE function
/// every name, title and file name passes through where it comes in (the
/// text rules below, file names of uploads), so a certificate, the ledger or
/// a download never shows a reordered or hidden text.
pub fn strip_spoofing(value: &str) -> std::borrow::Cow<'_, str> {
    if value.chars().any(is_spoofing_char) {
        std::borrow::Cow::Owned(value.chars().filter(|c| !is_spoofing_char(*c)).collect())
    } else {
        std::borrow::Cow::Borrowed(value)
    }
}

fn checked_text(errors: &mut FieldErrors, field: &str, label: &str, value: &str, max_chars: usize) -> Option<String> {
    if value.chars().any(is_spoofing_char) {
        errors.add(
            field,
            format!("{label}不能包含不可见的格式字符 (如零宽字符、从右到左覆盖)"),
        );
        return None;
    }
    if value.chars().count() > max_chars {
        errors.add(field, format!("{label}不能超过 {max_chars} 个字符"));
        return None;
    }
    if value.chars().any(char::is_control) {
        errors.add(field, format!("{label}不能包含控制字符"));
        return None;
    }
    Some(value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn required_text_rules() {
        let mut errors = FieldErrors::new();
        assert_eq!(
            required_text(&mut errors, "name", "名称", Some("  历下区  "), 10),
            Some("历下区".to_owned())
        );
        assert!(errors.is_empty());
        assert_eq!(required_text(&mut errors, "name", "名称", Some("   "), 10), None);
        assert_eq!(errors.for_field("name"), Some("请填写名称"));
        let mut errors = FieldErrors::new();
        assert_eq!(required_text(&mut errors, "n", "名称", Some("一二三四五六"), 5), None);
        assert_eq!(errors.for_field("n"), Some("名称不能超过 5 个字符"));
        let mut errors = FieldErrors::new();
        assert_eq!(required_text(&mut errors, "n", "名称", Some("a\u{0}b"), 5), None);
        assert!(!errors.is_empty());
    }

    #[test]
    fn spoofing_characters_are_refused_in_text_and_stripped_on_request() {
        for bad in [
            "张\u{202E}三",
            "李\u{200B}四",
            "\u{FEFF}王五",
            "赵\u{2066}六\u{2069}",
            "a\u{200F}b",
        ] {
            let mut errors = FieldErrors::new();
            assert_eq!(
                required_text(&mut errors, "name", "姓名", Some(bad), 50),
                None,
                "{bad:?}"
            );
            assert!(
                errors.for_field("name").is_some_and(|m| m.contains("不可见")),
                "{bad:?}"
            );
            assert!(!strip_spoofing(bad).chars().any(is_spoofing_char));
        }
        assert_eq!(strip_spoofing("invoice\u{202E}fdp.exe"), "invoicefdp.exe");
        assert!(matches!(strip_spoofing("张三"), std::borrow::Cow::Borrowed(_)));
        let mut errors = FieldErrors::new();
        assert_eq!(optional_text(&mut errors, "n", "名称", Some("a\u{2060}"), 5), None);
        assert!(!errors.is_empty());
    }

    #[test]
    fn optional_text_is_absent_when_blank() {
        let mut errors = FieldErrors::new();
        assert_eq!(optional_text(&mut errors, "c", "代码", Some(" "), 5), None);
        assert_eq!(optional_text(&mut errors, "c", "代码", None, 5), None);
        assert!(errors.is_empty());
    }
}
