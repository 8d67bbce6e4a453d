//! A running summary of the public ledger: per-project totals (as
//! [`crate::audit::totals_from_entries`] computes them), money received and
//! spent per month (China time), and goods received and dispatched per
//! project. It is built entry by entry, so a reader that keeps one only adds
//! the entries appended since (the log is append-only); the portal then costs
//! the same at ten million entries as at ten.
//!
//! Rules: a digest of the first `size` entries is exactly the fold of
//! [`LedgerDigest::add`] over them in log order; moves between projects
//! (`from_project_id`) change totals but are neither money in nor out.

use crate::audit::{add_to_totals, ProjectTotals};
use crate::LedgerEntry;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// What the first `size` entries of the log add up to.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LedgerDigest {
    /// How many entries are folded in.
    pub size: u64,
    /// Per project id: raised, allocated, spent, refunded.
    pub totals: BTreeMap<String, ProjectTotals>,
    /// Per month `YYYY-MM` (China time): (received, spent) in fen.
    pub months: BTreeMap<String, (i64, i64)>,
    /// Per project id: goods (received, dispatched), value in fen.
    pub goods: BTreeMap<String, (i64, i64)>,
}

/// The month (`YYYY-MM`, China time, UTC+8) of an entry's RFC 3339 time.
pub fn entry_month(at: &str) -> Option<String> {
    DateTime::parse_from_rfc3339(at).ok().map(|d| {
        (d.with_timezone(&Utc) + chrono::Duration::hours(8))
            .format("%Y-%m")
            .to_string()
    })
}

impl LedgerDigest {
    /// Folds in the next entry of the log.
    pub fn add(&mut self, e: &LedgerEntry) -> Result<(), String> {
        add_to_totals(&mut self.totals, e)?;
        self.size += 1;
        if e.from_project_id.is_some() {
            return Ok(());
        }
        let reverses = e.reverses_kind.as_deref();
        let (received, spent) = match (e.kind.as_str(), reverses) {
            ("gift", _) => (e.amount_fen, 0),
            ("reversal", Some("gift")) => (-e.amount_fen, 0),
            ("disbursement", _) => (0, e.amount_fen),
            ("reversal", Some("disbursement")) => (0, -e.amount_fen),
            _ => (0, 0),
        };
        if received != 0 || spent != 0 {
            if let Some(month) = entry_month(&e.at) {
                let slot = self.months.entry(month).or_default();
                slot.0 += received;
                slot.1 += spent;
            }
        }
        let (goods_in, goods_out) = match (e.kind.as_str(), reverses) {
            ("goods_in", _) => (e.amount_fen, 0),
            ("reversal", Some("goods_in")) => (-e.amount_fen, 0),
            ("goods_out", _) => (0, e.amount_fen),
            ("reversal", Some("goods_out")) => (0, -e.amount_fen),
            _ => return Ok(()),
        };
        let slot = self.goods.entry(e.project_id.clone()).or_default();
        slot.0 += goods_in;
        slot.1 += goods_out;
        Ok(())
    }

    /// (month, received, spent) for each of `months`, zero where nothing happened.
    pub fn monthly(&self, months: &[String]) -> Vec<(String, i64, i64)> {
        months
            .iter()
            .map(|m| {
                let (r, s) = self.months.get(m).copied().unwrap_or_default();
                (m.clone(), r, s)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::totals_from_entries;

    fn entry(kind: &str, amount: i64, project: &str, at: &str) -> LedgerEntry {
        LedgerEntry {
            v: crate::entry::ENTRY_VERSION,
            kind: kind.to_owned(),
            amount_fen: amount,
            project_id: project.to_owned(),
            from_project_id: None,
            journal_id: "j".to_owned(),
            journal_seq: 1,
            at: at.to_owned(),
            donor: None,
            commitment: None,
            recipient: None,
            reverses: None,
            reverses_kind: None,
        }
    }

    #[test]
    fn months_are_china_time() {
        assert_eq!(entry_month("2026-01-31T16:30:00Z").as_deref(), Some("2026-02"));
        assert_eq!(entry_month("2026-01-31T15:59:59Z").as_deref(), Some("2026-01"));
    }

    #[test]
    fn folding_in_two_parts_equals_folding_at_once() -> Result<(), String> {
        let entries = vec![
            entry("gift", 500, "a", "2026-01-02T00:00:00Z"),
            entry("goods_in", 300, "a", "2026-01-03T00:00:00Z"),
            entry("disbursement", 200, "a", "2026-02-03T00:00:00Z"),
            entry("goods_out", 100, "a", "2026-02-04T00:00:00Z"),
            LedgerEntry {
                reverses_kind: Some("gift".to_owned()),
                ..entry("reversal", 50, "a", "2026-02-05T00:00:00Z")
            },
        ];
        let mut whole = LedgerDigest::default();
        for e in &entries {
            whole.add(e)?;
        }
        let mut first = LedgerDigest::default();
        for e in &entries[..2] {
            first.add(e)?;
        }
        for e in &entries[2..] {
            first.add(e)?;
        }
        assert_eq!(whole, first);
        assert_eq!(whole.size, 5);
        assert_eq!(whole.totals, totals_from_entries(entries.iter())?);
        assert_eq!(whole.months["2026-01"], (500, 0));
        assert_eq!(whole.months["2026-02"], (-50, 200));
        assert_eq!(whole.goods["a"], (300, 100));
        assert_eq!(
            whole.monthly(&["2025-12".to_owned(), "2026-01".to_owned()]),
            vec![("2025-12".to_owned(), 0, 0), ("2026-01".to_owned(), 500, 0)]
        );
        Ok(())
    }
}
