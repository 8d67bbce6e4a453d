//! The audit trail's hash chain. Each row's hash is SHA-256 over the previous
//! row's hash and the row's own fields in a fixed JSON form, so editing,
//! deleting or reordering any row breaks every hash after it. The first row
//! chains from [`GENESIS_HASH`].

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// The `prev_hash` of the first row.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What happened to a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    Create,
    Update,
    Delete,
    Login,
    Logout,
    /// Personal data was read out (a PIPL export).
    Access,
    /// Attempts refused after repeated failures (find-my-gift guesses).
    Refuse,
}

impl AuditAction {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::Create => "create",
            AuditAction::Update => "update",
            AuditAction::Delete => "delete",
            AuditAction::Login => "login",
            AuditAction::Logout => "logout",
            AuditAction::Access => "access",
            AuditAction::Refuse => "refuse",
        }
    }

    pub fn label_zh(s: &str) -> &'static str {
        match s {
            "create" => "新建",
            "update" => "修改",
            "delete" => "删除",
            "login" => "登录",
            "logout" => "退出",
            "access" => "查阅个人信息",
            "refuse" => "多次失败后拒绝",
            _ => "其他",
        }
    }
}

/// The fields of one audit row that its hash covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditFields<'a> {
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub actor_id: Option<&'a str>,
    pub actor_name: &'a str,
    pub ip: Option<&'a str>,
    pub action: &'a str,
    pub entity: &'a str,
    pub entity_id: &'a str,
    pub org_id: Option<&'a str>,
    /// The record before the change, as stored JSON text.
    pub before: Option<&'a str>,
    /// The record after the change, as stored JSON text.
    pub after: Option<&'a str>,
}

/// The hash of a row given its predecessor's hash, as lowercase hex: SHA-256
/// over the compact JSON object of the fields and `prev_hash`, keys in
/// sorted order, `at` as RFC 3339 UTC with microseconds.
pub fn chain_hash(prev_hash: &str, fields: &AuditFields<'_>) -> String {
    let at = fields.at.to_rfc3339_opts(SecondsFormat::Micros, true);
    let AuditFields {
        seq,
        at: _,
        actor_id,
        actor_name,
        ip,
        action,
        entity,
        entity_id,
        org_id,
        before,
        after,
    } = *fields;
    let hashed = HashedFields {
        action,
        actor_id,
        actor_name,
        after,
        at: &at,
        before,
        entity,
        entity_id,
        ip,
        org_id,
        prev_hash,
        seq,
    };
    let mut hasher = HashWriter(Sha256::new());
    // Writing into a hasher cannot fail, nor can these fields.
    let _ = serde_json::to_writer(&mut hasher, &hashed);
    hex::encode(hasher.0.finalize())
}

/// What [`chain_hash`] hashes, keys in sorted order (the order the chain
/// was first written in, as a sorted `serde_json` map), written straight
/// into the hasher.
#[derive(Serialize)]
struct HashedFields<'a> {
    action: &'a str,
    actor_id: Option<&'a str>,
    actor_name: &'a str,
    after: Option<&'a str>,
    at: &'a str,
    before: Option<&'a str>,
    entity: &'a str,
    entity_id: &'a str,
    ip: Option<&'a str>,
    org_id: Option<&'a str>,
    prev_hash: &'a str,
    seq: i64,
}

struct HashWriter(Sha256);

impl std::io::Write for HashWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.update(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Where and why a chain stopped holding.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainBreak {
    #[error("第 {expected} 条之后缺少记录 (下一条序号为 {found}): 有记录被删除或重排")]
    Gap { expected: i64, found: i64 },
    #[error("第 {seq} 条的前序哈希与上一条不符: 有记录被删除、插入或重排")]
    PrevMismatch { seq: i64 },
    #[error("第 {seq} 条的哈希与其内容不符: 该记录被修改")]
    HashMismatch { seq: i64 },
    #[error("链尾与记录头不符 (记录头: 第 {head_seq} 条; 实有: 第 {last_seq} 条): 末尾记录被删除或追加")]
    HeadMismatch { head_seq: i64, last_seq: i64 },
}

/// Walks a chain row by row. Feed rows in `seq` order with [`ChainVerifier::push`].
#[derive(Debug)]
pub struct ChainVerifier {
    expected_seq: i64,
    prev_hash: String,
}

impl Default for ChainVerifier {
    fn default() -> Self {
        Self {
            expected_seq: 1,
            prev_hash: GENESIS_HASH.to_owned(),
        }
    }
}

impl ChainVerifier {
    /// Checks the next row: its sequence number, its link to the previous row
    /// and its own hash.
    pub fn push(&mut self, fields: &AuditFields<'_>, prev_hash: &str, hash: &str) -> Result<(), ChainBreak> {
        if fields.seq != self.expected_seq {
            return Err(ChainBreak::Gap {
                expected: self.expected_seq - 1,
                found: fields.seq,
            });
        }
        if prev_hash != self.prev_hash {
            return Err(ChainBreak::PrevMismatch { seq: fields.seq });
        }
        if chain_hash(prev_hash, fields) != hash {
            return Err(ChainBreak::HashMismatch { seq: fields.seq });
        }
        self.expected_seq += 1;
        self.prev_hash = hash.to_owned();
        Ok(())
    }

    /// Checks the end of the chain against the recorded head.
    pub fn finish(self, head_seq: i64, head_hash: &str) -> Result<i64, ChainBreak> {
        let last_seq = self.expected_seq - 1;
        if head_seq != last_seq || head_hash != self.prev_hash {
            return Err(ChainBreak::HeadMismatch { head_seq, last_seq });
        }
        Ok(last_seq)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    /// How the chain was first hashed: a `serde_json::Value` object (a
    /// sorted map), written out and hashed. Every stored chain is in this
    /// form, so [`chain_hash`] must give the same bytes.
    fn chain_hash_through_a_value(prev_hash: &str, fields: &AuditFields<'_>) -> String {
        let canonical = serde_json::json!({
            "seq": fields.seq,
            "at": fields.at.to_rfc3339_opts(SecondsFormat::Micros, true),
            "actor_id": fields.actor_id,
            "actor_name": fields.actor_name,
            "ip": fields.ip,
            "action": fields.action,
            "entity": fields.entity,
            "entity_id": fields.entity_id,
            "org_id": fields.org_id,
            "before": fields.before,
            "after": fields.after,
            "prev_hash": prev_hash,
        });
        let mut hasher = Sha256::new();
        hasher.update(canonical.to_string().as_bytes());
        hex::encode(hasher.finalize())
    }

    fn text() -> impl Strategy<Value = String> {
        proptest::collection::vec(
            prop_oneof![
                (0u32..0x20).prop_map(|c| char::from_u32(c).unwrap_or('?')),
                Just('"'),
                Just('\\'),
                Just('\u{7f}'),
                Just('审'),
                Just('😀'),
                any::<char>(),
            ],
            0..10,
        )
        .prop_map(|chars| chars.into_iter().collect())
    }

    proptest! {
        #[test]
        fn chain_hash_is_the_hash_of_the_sorted_json_object(
            seq in any::<i64>(),
            micros in -62_000_000_000_000_000i64..250_000_000_000_000_000i64,
            strings in proptest::collection::vec(text(), 5),
            options in proptest::collection::vec(proptest::option::of(text()), 5),
        ) {
            let at = DateTime::<Utc>::from_timestamp_micros(micros).unwrap_or_default();
            let fields = AuditFields {
                seq,
                at,
                actor_id: options[0].as_deref(),
                actor_name: &strings[0],
                ip: options[1].as_deref(),
                action: &strings[1],
                entity: &strings[2],
                entity_id: &strings[3],
                org_id: options[2].as_deref(),
                before: options[3].as_deref(),
                after: options[4].as_deref(),
            };
            prop_assert_eq!(chain_hash(&strings[4], &fields), chain_hash_through_a_value(&strings[4], &fields));
        }
    }

    fn fields(seq: i64, after: &str) -> (i64, String) {
        (seq, after.to_owned())
    }

    fn build(rows: &[(i64, String)]) -> Vec<(i64, String, String, String)> {
        let at = Utc.timestamp_opt(1_800_000_000, 0).single().unwrap_or_default();
        let mut prev = GENESIS_HASH.to_owned();
        rows.iter()
            .map(|(seq, after)| {
                let f = AuditFields {
                    seq: *seq,
                    at,
                    actor_id: None,
                    actor_name: "admin",
                    ip: None,
                    action: "create",
                    entity: "org",
                    entity_id: "x",
                    org_id: None,
                    before: None,
                    after: Some(after),
                };
                let hash = chain_hash(&prev, &f);
                let row = (*seq, after.clone(), prev.clone(), hash.clone());
                prev = hash;
                row
            })
            .collect()
    }

    fn verify(rows: &[(i64, String, String, String)], head: (i64, &str)) -> Result<i64, ChainBreak> {
        let at = Utc.timestamp_opt(1_800_000_000, 0).single().unwrap_or_default();
        let mut v = ChainVerifier::default();
        for (seq, after, prev, hash) in rows {
            let f = AuditFields {
                seq: *seq,
                at,
                actor_id: None,
                actor_name: "admin",
                ip: None,
                action: "create",
                entity: "org",
                entity_id: "x",
                org_id: None,
                before: None,
                after: Some(after),
            };
            v.push(&f, prev, hash)?;
        }
        v.finish(head.0, head.1)
    }

    #[test]
    fn intact_chain_verifies() {
        let rows = build(&[fields(1, "{\"a\":1}"), fields(2, "{\"a\":2}"), fields(3, "{}")]);
        let head = rows[2].3.clone();
        assert_eq!(verify(&rows, (3, &head)), Ok(3));
    }

    #[test]
    fn edit_delete_reorder_and_truncation_are_caught() {
        let rows = build(&[fields(1, "a"), fields(2, "b"), fields(3, "c")]);
        let head = rows[2].3.clone();
        let mut edited = rows.clone();
        edited[1].1 = "B".into();
        assert_eq!(verify(&edited, (3, &head)), Err(ChainBreak::HashMismatch { seq: 2 }));
        let deleted = vec![rows[0].clone(), rows[2].clone()];
        assert!(matches!(verify(&deleted, (3, &head)), Err(ChainBreak::Gap { .. })));
        let mut reordered = vec![rows[0].clone(), rows[2].clone(), rows[1].clone()];
        reordered[1].0 = 2;
        reordered[2].0 = 3;
        assert!(verify(&reordered, (3, &head)).is_err());
        let truncated = rows[..2].to_vec();
        assert!(matches!(
            verify(&truncated, (3, &head)),
            Err(ChainBreak::HeadMismatch { .. })
        ));
    }
}
