//! Major donors, as rules: recognition levels by cumulative giving (net of
//! refunds; thresholds and titles configurable, strictly increasing), and
//! visits (date, who, notes, an optional follow-up date not before the visit,
//! due from that day until marked done).

use crate::money::Fen;
use crate::validation::{optional_text, required_text, FieldErrors};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// A recognition level: from `threshold` of cumulative giving, `title`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecognitionLevel {
    pub threshold_fen: i64,
    pub title: String,
}

/// The levels a society starts with.
pub fn default_levels() -> Vec<RecognitionLevel> {
    vec![
        RecognitionLevel {
            threshold_fen: 1_000_000,
            title: "爱心捐赠人".to_owned(),
        },
        RecognitionLevel {
            threshold_fen: 10_000_000,
            title: "博爱之星".to_owned(),
        },
        RecognitionLevel {
            threshold_fen: 100_000_000,
            title: "人道荣誉捐赠人".to_owned(),
        },
    ]
}

/// The highest level `total` reaches.
pub fn level_for(total: Fen, levels: &[RecognitionLevel]) -> Option<&RecognitionLevel> {
    levels
        .iter()
        .filter(|l| total.0 >= l.threshold_fen)
        .max_by_key(|l| l.threshold_fen)
}

/// Validates a new set of levels (sorted by threshold on success).
pub fn check_levels(mut levels: Vec<RecognitionLevel>) -> Result<Vec<RecognitionLevel>, FieldErrors> {
    let mut errors = FieldErrors::new();
    if levels.is_empty() || levels.len() > 10 {
        errors.add("levels", "请设置 1 至 10 个等级");
    }
    for (i, l) in levels.iter_mut().enumerate() {
        if l.threshold_fen <= 0 {
            errors.add(&format!("levels[{i}].threshold_fen"), "门槛金额须大于 0 (单位: 分)");
        }
        if let Some(t) = required_text(&mut errors, &format!("levels[{i}].title"), "称号", Some(&l.title), 30) {
            l.title = t;
        }
    }
    levels.sort_by_key(|l| l.threshold_fen);
    if levels
        .windows(2)
        .any(|w| w[0].threshold_fen == w[1].threshold_fen || w[0].title == w[1].title)
    {
        errors.add("levels", "各等级的门槛与称号不能重复");
    }
    errors.into_result(levels)
}

/// The raw fields of a visit.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct VisitInput {
    pub visited_on: Option<String>,
    pub visitor: Option<String>,
    pub notes: Option<String>,
    pub follow_up_on: Option<String>,
}

/// A validated visit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VisitForCreate {
    pub visited_on: NaiveDate,
    pub visitor: String,
    pub notes: Option<String>,
    pub follow_up_on: Option<NaiveDate>,
}

impl VisitForCreate {
    pub fn parse(input: &VisitInput, today: NaiveDate) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let date = |errors: &mut FieldErrors, field: &str, raw: Option<&str>, required: bool| match raw
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            None => {
                if required {
                    errors.add(field, "请填写日期");
                }
                None
            }
            Some(s) => match NaiveDate::parse_from_str(s, "%Y-%m-%d") {
                Ok(d) => Some(d),
                Err(_) => {
                    errors.add(field, "日期格式应为 YYYY-MM-DD");
                    None
                }
            },
        };
        let visited_on = date(&mut errors, "visited_on", input.visited_on.as_deref(), true);
        if visited_on.is_some_and(|d| d > today) {
            errors.add("visited_on", "拜访日期不能晚于今天");
        }
        let follow_up_on = date(&mut errors, "follow_up_on", input.follow_up_on.as_deref(), false);
        if let (Some(v), Some(f)) = (visited_on, follow_up_on) {
            if f < v {
                errors.add("follow_up_on", "跟进日期不能早于拜访日期");
            }
        }
        let visitor = required_text(&mut errors, "visitor", "拜访人", input.visitor.as_deref(), 50);
        let notes = optional_text(&mut errors, "notes", "拜访记录", input.notes.as_deref(), 2000);
        match (visited_on, visitor) {
            (Some(visited_on), Some(visitor)) if errors.is_empty() => Ok(VisitForCreate {
                visited_on,
                visitor,
                notes,
                follow_up_on,
            }),
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_by_cumulative_giving() {
        let levels = default_levels();
        assert_eq!(level_for(Fen(999_999), &levels), None);
        assert_eq!(
            level_for(Fen(1_000_000), &levels).map(|l| l.title.as_str()),
            Some("爱心捐赠人")
        );
        assert_eq!(
            level_for(Fen(50_000_000), &levels).map(|l| l.title.as_str()),
            Some("博爱之星")
        );
        assert!(check_levels(vec![]).is_err());
        let dup = vec![
            RecognitionLevel {
                threshold_fen: 5,
                title: "a".into(),
            },
            RecognitionLevel {
                threshold_fen: 5,
                title: "b".into(),
            },
        ];
        assert!(check_levels(dup).is_err());
    }

    #[test]
    fn visits_need_a_date_and_a_sane_follow_up() {
        let today = NaiveDate::from_ymd_opt(2026, 5, 1).unwrap_or_default();
        let ok = VisitForCreate::parse(
            &VisitInput {
                visited_on: Some("2026-04-30".into()),
                visitor: Some("市会 王主任".into()),
                notes: Some("介绍白内障项目".into()),
                follow_up_on: Some("2026-05-15".into()),
            },
            today,
        );
        assert!(ok.is_ok());
        let bad = VisitForCreate::parse(
            &VisitInput {
                visited_on: Some("2026-04-30".into()),
                visitor: None,
                notes: None,
                follow_up_on: Some("2026-04-01".into()),
            },
            today,
        );
        let fields: Vec<String> = bad
            .err()
            .map(|e| e.0.into_iter().map(|f| f.field).collect())
            .unwrap_or_default();
        assert_eq!(fields, vec!["follow_up_on".to_owned(), "visitor".to_owned()]);
    }
}
