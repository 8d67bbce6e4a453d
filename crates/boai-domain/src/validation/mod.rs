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

fn checked_text(errors: &mut FieldErrors, field: &str, label: &str, value: &str, max_chars: usize) -> Option<String> {
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
    fn optional_text_is_absent_when_blank() {
        let mut errors = FieldErrors::new();
        assert_eq!(optional_text(&mut errors, "c", "代码", Some(" "), 5), None);
        assert_eq!(optional_text(&mut errors, "c", "代码", None, 5), None);
        assert!(errors.is_empty());
    }
}
