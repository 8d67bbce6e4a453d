//! The auditor: what `boai verify` does against any copy of the public
//! ledger. It trusts nothing it downloads: it verifies the checkpoint's
//! signature, recomputes the whole tree from the entry bundles, compares
//! every served hash tile with the recomputation, proves consistency with the
//! checkpoint it saw last (so a rollback, a fork or a changed key shows), and
//! checks that the portal's published totals equal the sums of the entries.

use crate::tiles::{decode_bundle, TilePath};
use crate::tree::{check_consistency, leaf_hash, prove_consistency, MemoryTree};
use crate::{Checkpoint, Hash, LedgerEntry, VerifierKey};
use boai_domain::funds::{totals_delta, EntryKind};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::future::Future;

/// Where the auditor reads from (HTTP in `boai verify`, the database in tests).
pub trait Source {
    /// Fetches an absolute path such as `/ledger/checkpoint`; `Ok(None)` for 404.
    fn get(&self, path: &str) -> impl Future<Output = Result<Option<Vec<u8>>, String>>;
}

/// What the auditor remembers between runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditState {
    /// The verifier key seen.
    pub key: String,
    pub size: u64,
    /// Base64 root hash at `size`.
    pub root: String,
}

/// One project's totals, as the portal publishes them and as the entries sum.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectTotals {
    pub raised_fen: i64,
    pub allocated_fen: i64,
    pub spent_fen: i64,
    pub refunded_fen: i64,
}

/// The portal's published totals (`/transparency/totals.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishedTotals {
    /// The ledger size the figures were read at (same snapshot).
    pub ledger_size: u64,
    pub projects: Vec<PublishedProject>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishedProject {
    pub project_id: String,
    pub code: String,
    pub name: String,
    #[serde(flatten)]
    pub totals: ProjectTotals,
}

/// Sums entries into per-project totals with the books' own rule
/// ([`totals_delta`]): an entry with `from_project_id` moves its amount from
/// that project to `project_id`; otherwise gifts and goods in add to the
/// project, money and goods out take from it, and a reversal undoes its kind.
pub fn totals_from_entries<'a>(
    entries: impl IntoIterator<Item = &'a LedgerEntry>,
) -> Result<BTreeMap<String, ProjectTotals>, String> {
    let mut out: BTreeMap<String, ProjectTotals> = BTreeMap::new();
    for e in entries {
        add_to_totals(&mut out, e)?;
    }
    Ok(out)
}

/// Adds one entry's effect to per-project totals (see [`totals_from_entries`]).
pub fn add_to_totals(out: &mut BTreeMap<String, ProjectTotals>, e: &LedgerEntry) -> Result<(), String> {
    let kind = EntryKind::parse(&e.kind).ok_or_else(|| format!("unknown kind {}", e.kind))?;
    let reverses = match &e.reverses_kind {
        Some(k) => Some(EntryKind::parse(k).ok_or_else(|| format!("unknown kind {k}"))?),
        None => None,
    };
    for (project, d) in net_deltas(e)? {
        let (raised, allocated, spent, refunded) = totals_delta(kind, reverses, d);
        let t = out.entry(project).or_default();
        t.raised_fen += raised;
        t.allocated_fen += allocated;
        t.spent_fen += spent;
        t.refunded_fen += refunded;
    }
    Ok(())
}

/// The change an entry makes to each project's net assets: a move takes
/// its amount from `from_project_id` to `project_id`; otherwise gifts and
/// goods in add to the project, money and goods out take from it, and a
/// reversal undoes its kind.
pub fn net_deltas(e: &LedgerEntry) -> Result<Vec<(String, i64)>, String> {
    let kind = EntryKind::parse(&e.kind).ok_or_else(|| format!("unknown kind {}", e.kind))?;
    let reverses = match &e.reverses_kind {
        Some(k) => Some(EntryKind::parse(k).ok_or_else(|| format!("unknown kind {k}"))?),
        None => None,
    };
    Ok(match &e.from_project_id {
        Some(from) => vec![(e.project_id.clone(), e.amount_fen), (from.clone(), -e.amount_fen)],
        None => {
            let sign_of = |k: EntryKind| match k {
                EntryKind::Gift | EntryKind::GoodsIn => 1,
                _ => -1,
            };
            let sign = match (kind, reverses) {
                (EntryKind::Reversal, Some(original)) => -sign_of(original),
                (EntryKind::Reversal, None) => return Err(format!("reversal {} without its kind", e.journal_id)),
                (k, _) => sign_of(k),
            };
            vec![(e.project_id.clone(), sign * e.amount_fen)]
        }
    })
}

/// The result of one audit.
#[derive(Debug, Default)]
pub struct AuditOutcome {
    pub checkpoint: Option<Checkpoint>,
    /// Entries whose bundle, leaf hash and tree position were checked.
    pub entries_checked: u64,
    /// What was checked and held, in words.
    pub passed: Vec<String>,
    /// What failed, in words. Empty means the audit passed.
    pub problems: Vec<String>,
    /// The state to remember (only when nothing failed).
    pub state: Option<AuditState>,
}

impl AuditOutcome {
    pub fn ok(&self) -> bool {
        self.problems.is_empty() && self.checkpoint.is_some()
    }
}

async fn fetch<S: Source>(source: &S, path: &str) -> Result<Vec<u8>, String> {
    match source.get(path).await {
        Ok(Some(bytes)) => Ok(bytes),
        Ok(None) => Err(format!("{path}: not found")),
        Err(e) => Err(format!("{path}: {e}")),
    }
}

/// Audits a ledger. `progress(done, total)` is called as entries are checked.
pub async fn audit<S: Source>(source: &S, previous: Option<&AuditState>, progress: &dyn Fn(u64, u64)) -> AuditOutcome {
    let mut out = AuditOutcome::default();
    // Totals first: the checkpoint fetched afterwards covers at least their snapshot.
    let totals: Option<PublishedTotals> = match fetch(source, "/transparency/totals.json").await {
        Ok(bytes) => match serde_json::from_slice(&bytes) {
            Ok(t) => Some(t),
            Err(e) => {
                out.problems.push(format!("published totals are malformed: {e}"));
                None
            }
        },
        Err(e) => {
            out.problems.push(format!("published totals unavailable: {e}"));
            None
        }
    };
    let key = match fetch(source, "/ledger/key").await {
        Ok(bytes) => match VerifierKey::parse(&String::from_utf8_lossy(&bytes)) {
            Ok(k) => k,
            Err(e) => {
                out.problems.push(format!("verifier key: {e}"));
                return out;
            }
        },
        Err(e) => {
            out.problems.push(e);
            return out;
        }
    };
    if let Some(prev) = previous {
        if prev.key != key.text() {
            out.problems.push(format!(
                "the ledger key changed: was {}, now {} — a new key needs an explanation from the society",
                prev.key,
                key.text()
            ));
        }
    }
    let checkpoint = match fetch(source, "/ledger/checkpoint")
        .await
        .and_then(|b| key.open(&b).map_err(|e| e.to_string()))
    {
        Ok(c) => c,
        Err(e) => {
            out.problems.push(format!("checkpoint: {e}"));
            return out;
        }
    };
    out.passed.push(format!(
        "checkpoint signed by {} for {} entries",
        checkpoint.origin, checkpoint.size
    ));
    let size = checkpoint.size;
    let mut tree = MemoryTree::new();
    let mut entries: Vec<LedgerEntry> = Vec::new();
    let tiles = TilePath::all_for(size);
    for tile in tiles.iter().filter(|t| matches!(t, TilePath::Entries { .. })) {
        let path = format!("/ledger/{}", tile.path());
        let bundle = match fetch(source, &path)
            .await
            .and_then(|b| decode_bundle(&b).map_err(|e| e.to_string()))
        {
            Ok(b) => b,
            Err(e) => {
                out.problems.push(format!("entry bundle {path}: {e}"));
                return out;
            }
        };
        if bundle.len() != tile.width() as usize {
            out.problems.push(format!(
                "entry bundle {path} holds {} entries, not {}",
                bundle.len(),
                tile.width()
            ));
            return out;
        }
        for bytes in bundle {
            let index = tree.size();
            match LedgerEntry::from_canonical(&bytes) {
                Ok(e) => entries.push(e),
                Err(e) => out.problems.push(format!("entry {index}: {e}")),
            }
            if let Err(e) = tree.push(leaf_hash(&bytes)) {
                out.problems.push(format!("entry {index}: {e}"));
                return out;
            }
            out.entries_checked += 1;
        }
        progress(tree.size(), size);
    }
    for tile in tiles.iter().filter(|t| matches!(t, TilePath::Hashes { .. })) {
        let path = format!("/ledger/{}", tile.path());
        let data = match fetch(source, &path).await {
            Ok(d) => d,
            Err(e) => {
                out.problems.push(format!("hash tile {e}"));
                continue;
            }
        };
        let expected: Vec<u8> = tile
            .nodes()
            .iter()
            .flat_map(|id| tree.nodes().get(id).map(|h| h.0.to_vec()).unwrap_or_default())
            .collect();
        if data != expected {
            out.problems.push(format!(
                "hash tile {path} differs from the tree recomputed from the entries"
            ));
        }
    }
    match tree.root() {
        Ok(root) if root == checkpoint.root => out.passed.push(format!(
            "recomputed the tree from {} entries: its root equals the signed checkpoint",
            size
        )),
        Ok(_) => out
            .problems
            .push("the tree recomputed from the entries does not match the signed root".into()),
        Err(e) => out.problems.push(format!("tree: {e}")),
    }
    if let Some(prev) = previous {
        match Hash::from_slice(&base64_decode(&prev.root)) {
            Err(_) => out.problems.push("the state file's root is malformed".into()),
            Ok(_) if prev.size > size => out.problems.push(format!(
                "rollback: the log had {} entries when last checked and now has {}",
                prev.size, size
            )),
            Ok(old_root) => {
                let consistent = prove_consistency(size, prev.size, tree.nodes())
                    .and_then(|proof| check_consistency(&proof, size, checkpoint.root, prev.size, old_root));
                match consistent {
                    Ok(()) => out.passed.push(format!(
                        "consistent with the checkpoint seen before ({} entries): nothing was rewritten",
                        prev.size
                    )),
                    Err(_) => out.problems.push(format!(
                        "fork: the first {} entries no longer hash to the root seen before",
                        prev.size
                    )),
                }
            }
        }
    }
    if let Some(totals) = totals {
        if totals.ledger_size > size {
            out.problems.push(format!(
                "published totals cover {} entries but the checkpoint only {}",
                totals.ledger_size, size
            ));
        } else {
            match totals_from_entries(entries.iter().take(totals.ledger_size as usize)) {
                Err(e) => out.problems.push(e),
                Ok(sums) => {
                    let mut mismatches = 0;
                    for p in &totals.projects {
                        let summed = sums.get(&p.project_id).copied().unwrap_or_default();
                        if summed != p.totals {
                            mismatches += 1;
                            out.problems.push(format!(
                                "project {} ({}): published {:?}, the entries sum to {:?}",
                                p.code, p.name, p.totals, summed
                            ));
                        }
                    }
                    for (project, t) in &sums {
                        if *t != ProjectTotals::default() && !totals.projects.iter().any(|p| &p.project_id == project) {
                            mismatches += 1;
                            out.problems
                                .push(format!("project {project} has entries but no published totals"));
                        }
                    }
                    if mismatches == 0 {
                        out.passed.push(format!(
                            "published totals of {} projects equal the sums of the first {} entries",
                            totals.projects.len(),
                            totals.ledger_size
                        ));
                    }
                }
            }
        }
    }
    if out.problems.is_empty() {
        out.state = Some(AuditState {
            key: key.text().to_owned(),
            size,
            root: checkpoint.root.to_base64(),
        });
    }
    out.checkpoint = Some(checkpoint);
    out
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap_or_default()
}
