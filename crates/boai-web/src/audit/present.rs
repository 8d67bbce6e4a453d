//! How an audit row reads to a person: the record by its kind and name with
//! a link to its page (not the first hex digits of an id), the changed
//! fields as `field: before → after`, and every time in Beijing time. The
//! page and the Excel export both use these.

use crate::i18n::Lang;
use crate::pages::china_time;
use boai_store::audit::AuditRecord;
use serde_json::Value;

/// (entity, 中文, English, the record's page with `{}` for its id).
const KINDS: &[(&str, &str, &str, Option<&str>)] = &[
    ("org", "组织", "organisation", Some("/orgs/{}")),
    ("org_unit", "基层组织", "grassroots unit", Some("/network/units/{}")),
    ("user", "用户", "user", None),
    ("api_token", "API 令牌", "API token", None),
    ("gift", "捐赠", "gift", Some("/fundraising/gifts/{}")),
    ("donor", "捐赠人", "donor", Some("/fundraising/major-donors/{}")),
    ("donor_visit", "捐赠人走访", "donor visit", None),
    ("project", "项目", "project", Some("/funds/projects/{}")),
    ("journal_entry", "记账凭证", "journal entry", None),
    ("relief_case", "救助案件", "relief case", Some("/relief/cases/{}")),
    (
        "relief_programme",
        "救助项目",
        "relief programme",
        Some("/relief/programmes/{}"),
    ),
    ("member", "会员", "member", Some("/members/{}")),
    ("member_reminder", "会费提醒", "dues reminder", None),
    ("dues_payment", "会费缴纳", "dues payment", None),
    ("dues_rate", "会费标准", "dues rate", None),
    (
        "disclosure",
        "信息公开",
        "disclosure",
        Some("/transparency/disclosures/{}"),
    ),
    ("council", "理事会", "council", None),
    ("council_meeting", "理事会会议", "council meeting", None),
    ("council_member", "理事", "council member", None),
    ("bank_statement_line", "银行流水", "bank line", None),
    ("bank_layout", "对账单格式", "statement layout", None),
    ("payment_order", "在线支付订单", "payment order", None),
    ("payment_refund", "在线退款", "online refund", None),
    ("privacy_request", "个人信息请求", "personal-data request", None),
    ("setting", "设置", "setting", None),
    ("recognition_levels", "表彰等级", "recognition levels", None),
    ("wuyou_assessment", "五有评估", "five-standards assessment", None),
    ("wuyou_item", "五有项目", "five-standards item", None),
    ("data_key", "数据密钥", "data key", None),
    ("restore", "数据恢复", "restore", None),
    ("gift_lookup", "查询捐赠", "gift look-up", None),
];

/// The kind of record, in `lang`.
pub fn kind(entity: &str, lang: Lang) -> String {
    KINDS
        .iter()
        .find(|(e, ..)| *e == entity)
        .map(|(_, zh, en, _)| match lang {
            Lang::Zh => (*zh).to_owned(),
            Lang::En => (*en).to_owned(),
        })
        .unwrap_or_else(|| entity.replace('_', " "))
}

/// Every kind of record, for the filter: (entity, label in `lang`).
pub fn kinds(lang: Lang) -> Vec<(&'static str, String)> {
    KINDS.iter().map(|(e, ..)| (*e, kind(e, lang))).collect()
}

/// The record's page, where it has one.
pub fn href(entity: &str, id: &str) -> Option<String> {
    let pattern = KINDS.iter().find(|(e, ..)| *e == entity)?.3?;
    (!id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')).then(|| pattern.replace("{}", id))
}

/// The fields that name a record, most telling first.
const NAME_FIELDS: [&str; 9] = [
    "name",
    "display_name",
    "title",
    "username",
    "certificate_no",
    "case_no",
    "member_no",
    "code",
    "reference",
];

/// What the record is called, read from what was written about it.
pub fn name(r: &AuditRecord) -> Option<String> {
    [&r.after, &r.before]
        .into_iter()
        .flatten()
        .find_map(|v| NAME_FIELDS.iter().find_map(|f| v.get(f).and_then(Value::as_str)))
        .map(str::to_owned)
}

/// The record as a person reads it: kind and name (or a short id).
pub fn label(r: &AuditRecord, lang: Lang) -> String {
    let what = name(r).unwrap_or_else(|| r.entity_id.chars().take(8).collect());
    format!("{} {what}", kind(&r.entity, lang))
}

/// A value as shown: text without quotes, times in Beijing time.
fn show(v: &Value) -> String {
    match v {
        Value::Null => "—".to_owned(),
        Value::String(s) => match chrono::DateTime::parse_from_rfc3339(s) {
            Ok(t) => china_time(t.with_timezone(&chrono::Utc)),
            Err(_) => s.clone(),
        },
        other => other.to_string(),
    }
}

/// Fields every row carries that say nothing to a reader.
fn noise(field: &str) -> bool {
    matches!(
        field,
        "id" | "org_id" | "created_at" | "updated_at" | "created_by" | "hash" | "salt"
    )
}

/// The change: `field: before → after` for each changed field; on a new
/// record its fields, on a removed one `field: value →`.
pub fn changes(r: &AuditRecord) -> String {
    let empty = serde_json::Map::new();
    let as_map = |v: &Option<Value>| match v {
        Some(Value::Object(map)) => Some(map.clone()),
        _ => None,
    };
    let (before, after) = (as_map(&r.before), as_map(&r.after));
    let mut parts = Vec::new();
    match (&before, &after) {
        (None, None) => {
            for (prefix, v) in [("", &r.before), ("→ ", &r.after)] {
                if let Some(v) = v {
                    parts.push(format!("{prefix}{}", show(v)));
                }
            }
        }
        _ => {
            let b = before.as_ref().unwrap_or(&empty);
            let a = after.as_ref().unwrap_or(&empty);
            let mut keys: Vec<&String> = b.keys().chain(a.keys()).collect();
            keys.sort_unstable();
            keys.dedup();
            for key in keys.into_iter().filter(|k| !noise(k)) {
                match (b.get(key), a.get(key)) {
                    (Some(x), Some(y)) if x == y => {}
                    (Some(x), Some(y)) => parts.push(format!("{key}: {} → {}", show(x), show(y))),
                    (None, Some(y)) if before.is_none() => parts.push(format!("{key}: {}", show(y))),
                    (None, Some(y)) => parts.push(format!("{key}: → {}", show(y))),
                    (Some(x), None) => parts.push(format!("{key}: {} →", show(x))),
                    (None, None) => {}
                }
            }
        }
    }
    parts.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(entity: &str, before: Option<Value>, after: Option<Value>) -> AuditRecord {
        AuditRecord {
            seq: 1,
            at: chrono::Utc::now(),
            actor_id: None,
            actor_name: "admin".to_owned(),
            ip: None,
            action: "update".to_owned(),
            entity: entity.to_owned(),
            entity_id: "01936b2a-aaaa-7bbb-8ccc-000000000001".to_owned(),
            org_id: None,
            before,
            after,
            hash: String::new(),
        }
    }

    #[test]
    fn a_user_reads_as_its_name_and_changed_fields() {
        let r = record(
            "user",
            Some(json!({"id": "x", "username": "lixia", "role": "district_staff", "active": true})),
            Some(
                json!({"id": "x", "username": "lixia", "role": "city_staff", "active": true,
                        "updated_at": "2026-12-05T01:00:00Z"}),
            ),
        );
        assert_eq!(label(&r, Lang::Zh), "用户 lixia");
        assert_eq!(label(&r, Lang::En), "user lixia");
        assert_eq!(changes(&r), "role: district_staff → city_staff");
        assert_eq!(href("user", &r.entity_id), None);
        assert_eq!(
            href("gift", &r.entity_id).as_deref(),
            Some("/fundraising/gifts/01936b2a-aaaa-7bbb-8ccc-000000000001")
        );
        assert_eq!(href("gift", "x\"><script>"), None);
    }

    #[test]
    fn times_in_changes_are_beijing_time() {
        let r = record(
            "project",
            None,
            Some(json!({"name": "光明行", "opened_at": "2026-12-04T16:30:00Z"})),
        );
        assert_eq!(changes(&r), "name: 光明行; opened_at: 2026-12-05 00:30");
    }
}
