//! Spreadsheet imports' shared rule and report (units, members): every row
//! is checked first; [`ImportReport::decide`] is the commit rule — in
//! [`ImportMode::AllOrNothing`] nothing is written unless every row is
//! good, in [`ImportMode::ValidRows`] the good rows are — and a refused
//! import reports its rows without the ids and codes they would have had.
//! [`taken`] reads the keys and codes already on file that rows may not take.

use crate::StoreResult;
use boai_domain::ids::OrgId;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use serde::Serialize;
use std::collections::HashSet;

/// Whether an import keeps its good rows when others are bad.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportMode {
    /// Nothing is written unless every row is good.
    AllOrNothing,
    /// Good rows are written, bad ones reported.
    ValidRows,
}

impl ImportMode {
    pub fn parse(s: &str) -> Option<ImportMode> {
        match s.trim() {
            "all_or_nothing" | "all" => Some(ImportMode::AllOrNothing),
            "valid_rows" | "valid" => Some(ImportMode::ValidRows),
            _ => None,
        }
    }
}

/// What happened to one row (numbered as in the file, header = row 1).
#[derive(Debug, Clone, Serialize)]
pub struct ImportRowReport {
    pub row: usize,
    pub name: String,
    pub accepted: bool,
    pub problems: Vec<String>,
    pub org_id: Option<OrgId>,
    pub code: Option<String>,
}

/// The result of an import.
#[derive(Debug, Clone, Serialize)]
pub struct ImportReport {
    pub mode: ImportMode,
    pub accepted: usize,
    pub rejected: usize,
    /// Whether anything was written.
    pub committed: bool,
    pub rows: Vec<ImportRowReport>,
}

impl ImportReport {
    /// The import commit rule, over the rows as checked: `Ok` with the
    /// report of an import to write, `Err` with the report of one that
    /// writes nothing (the rows' planned ids and codes cleared).
    pub(crate) fn decide(mode: ImportMode, mut rows: Vec<ImportRowReport>) -> Result<ImportReport, ImportReport> {
        let accepted = rows.iter().filter(|r| r.accepted).count();
        let rejected = rows.len() - accepted;
        let commit = match mode {
            ImportMode::AllOrNothing => rejected == 0 && accepted > 0,
            ImportMode::ValidRows => accepted > 0,
        };
        if !commit {
            for r in &mut rows {
                r.org_id = None;
                r.code = None;
            }
            return Err(ImportReport {
                mode,
                accepted,
                rejected,
                committed: false,
                rows,
            });
        }
        Ok(ImportReport {
            mode,
            accepted,
            rejected,
            committed: true,
            rows,
        })
    }
}

/// Every value of `column` on file (NULLs left out): what an import's rows
/// may not take again (keys, numbers, codes).
pub(crate) async fn taken<E: EntityTrait, C: ConnectionTrait>(
    conn: &C,
    column: E::Column,
) -> StoreResult<HashSet<String>> {
    Ok(E::find()
        .filter(column.is_not_null())
        .select_only()
        .column(column)
        .into_tuple::<String>()
        .all(conn)
        .await?
        .into_iter()
        .collect())
}
