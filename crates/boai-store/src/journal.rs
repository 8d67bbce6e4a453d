//! The ledger-entry builders: the rows a journal entry writes (its entry
//! and lines) and the public ledger entry that mirrors it — shared by
//! [`crate::funds::post`], the gift writer and the ledger check.

use crate::entities::{journal_entries, journal_lines};
use crate::funds::{EntryMeta, JournalEntry};
use boai_domain::funds::{AccountKind, Line};
use boai_domain::ids::{JournalEntryId, OrgId, ProjectId};
use sea_orm::ActiveValue::Set;

/// The public ledger entry that mirrors a journal entry. `net_deltas` is
/// each fund's change of net assets: one fund rising and one falling make a
/// move (`from_project_id` → `project_id`); otherwise the entry is about its
/// own project. Used when posting and again by the ledger check.
pub(crate) fn ledger_entry_for(
    entry: &JournalEntry,
    net_deltas: &[(ProjectId, i64)],
    meta: &EntryMeta,
) -> boai_ledger::LedgerEntry {
    let to = net_deltas.iter().find(|(_, d)| *d > 0).map(|(f, _)| *f);
    let from = net_deltas.iter().find(|(_, d)| *d < 0).map(|(f, _)| *f);
    let (project, from_project) = match (to, from) {
        (Some(to), Some(from)) => (to, Some(from)),
        _ => (entry.project_id, None),
    };
    boai_ledger::LedgerEntry {
        v: boai_ledger::entry::ENTRY_VERSION,
        kind: entry.kind.as_str().to_owned(),
        amount_fen: entry.amount.0,
        project_id: project.to_string(),
        from_project_id: from_project.map(|f| f.to_string()),
        journal_id: entry.id.to_string(),
        journal_seq: entry.seq,
        at: entry.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        donor: meta.public_donor.clone(),
        commitment: meta.commitment.clone(),
        recipient: meta.public_recipient.clone(),
        reverses: entry.reverses_id.map(|r| r.to_string()),
        reverses_kind: meta.reverses_kind.map(|k| k.as_str().to_owned()),
    }
}

/// Each fund's net-asset change in a plan's lines, by fund id.
pub(crate) fn net_deltas(lines: &[Line]) -> Vec<(ProjectId, i64)> {
    let mut out: Vec<(ProjectId, i64)> = Vec::new();
    for l in lines.iter().filter(|l| l.account == AccountKind::NetAssets) {
        match out.iter_mut().find(|(f, _)| *f == l.fund) {
            Some((_, d)) => *d += l.balance_delta(),
            None => out.push((l.fund, l.balance_delta())),
        }
    }
    out
}

/// A journal entry's row, by `created_by` for `org_id`: [`crate::funds::post`]'s and the
/// gift writer's.
pub(crate) fn entry_row(entry: &JournalEntry, org_id: OrgId, created_by: &str) -> journal_entries::ActiveModel {
    journal_entries::ActiveModel {
        id: Set(entry.id.0),
        seq: Set(entry.seq),
        at: Set(entry.at),
        kind: Set(entry.kind.as_str().to_owned()),
        project_id: Set(entry.project_id.0),
        amount_fen: Set(entry.amount.0),
        reverses_id: Set(entry.reverses_id.map(|r| r.0)),
        gift_id: Set(entry.gift_id),
        counterparty: Set(entry.counterparty.clone()),
        memo: Set(entry.memo.clone()),
        decision_ref: Set(entry.decision_ref.clone()),
        org_id: Set(org_id.0),
        created_by: Set(created_by.to_owned()),
        ledger_index: Set(entry.ledger_index),
    }
}

/// Line `n` of entry `entry_id`, on `account`: [`crate::funds::post`]'s and the gift
/// writer's.
pub(crate) fn line_row(
    entry_id: JournalEntryId,
    n: usize,
    account: uuid::Uuid,
    line: &Line,
) -> journal_lines::ActiveModel {
    journal_lines::ActiveModel {
        entry_id: Set(entry_id.0),
        line_no: Set(i32::try_from(n).unwrap_or(i32::MAX)),
        account_id: Set(account),
        debit_fen: Set(line.debit.0),
        credit_fen: Set(line.credit.0),
    }
}
