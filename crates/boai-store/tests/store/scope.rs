//! Scope in one place: no source file of boai-store, boai-web or the CLI
//! reads data scope itself. The subtree is turned into SQL only by
//! `boai-store/src/scoped.rs` (`select`, `select_or_city`, `in_branch`,
//! `org_in_scope` / `require_org`, `orgs_within`), and the reaches wider than
//! the subtree are `boai_domain::scope`'s functions; the primitives below
//! anywhere else fail this test, naming the file and line (as the route
//! table's test does for `.route(`). No database: the same on both backends.

use std::path::{Path, PathBuf};

/// What reading scope by hand looks like.
const PRIMITIVES: &[(&str, &str)] = &[
    ("subtree()", "the subtree as a subquery: use ScopedStore::select"),
    (
        "OrgId.in_subquery(",
        "an organisation subquery: use ScopedStore::select / in_branch",
    ),
    (
        "OrgId.not_in_subquery(",
        "an organisation subquery: use ScopedStore::select",
    ),
    (
        ".covers(",
        "find then covers: use ScopedStore::org_in_scope / require_org",
    ),
    (
        "contains_path(",
        "a subtree test by hand: use ScopedStore::org_in_scope / require_org or a Scope reach",
    ),
    ("scope.path", "the scope's raw path: use a boai_domain::scope function"),
    (
        "Column::Path).like(",
        "SQL over organisation paths: use a scoped.rs predicate",
    ),
    (
        "Column::Path.like(",
        "SQL over organisation paths: use a scoped.rs predicate",
    ),
    (
        ".matches('/')",
        "path depth by hand: use boai_domain::scope::depth / is_district_or_above",
    ),
    (
        "path.starts_with(",
        "a path comparison by hand: use boai_domain::scope::is_within",
    ),
];

/// The files that may: the scoped module itself.
const ALLOWED_FILES: &[&str] = &["crates/boai-store/src/scoped.rs"];

/// Single uses waiting for their owner (file, primitive): each must still
/// be there, so the entry goes when the code does.
const PENDING: &[(&str, &str)] = &[];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            rust_files(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    Ok(())
}

/// The primitives on one line of code (comments skipped; a path compared
/// with a string literal, such as `"/api/"`, is a URL, not an organisation).
fn primitives_in(line: &str) -> Vec<&'static str> {
    let code = line.trim_start();
    if code.starts_with("//") {
        return Vec::new();
    }
    PRIMITIVES
        .iter()
        .filter(|(p, _)| {
            code.match_indices(p)
                .any(|(at, _)| *p != "path.starts_with(" || !code[at + p.len()..].starts_with(['"', '\'']))
        })
        .map(|(p, _)| *p)
        .collect()
}

#[test]
fn scope_is_read_only_in_the_scoped_module() -> anyhow::Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize()?;
    let mut files = Vec::new();
    for dir in ["crates/boai-store/src", "crates/boai-web/src", "crates/boai/src"] {
        rust_files(&root.join(dir), &mut files)?;
    }
    files.sort();
    assert!(files.len() > 50, "the scan found the sources ({} files)", files.len());
    let mut offenders = Vec::new();
    let mut pending_seen = vec![false; PENDING.len()];
    for file in &files {
        let name = file.strip_prefix(&root)?.to_string_lossy().replace('\\', "/");
        if ALLOWED_FILES.contains(&name.as_str()) {
            continue;
        }
        let text = std::fs::read_to_string(file)?;
        for (n, line) in text.lines().enumerate() {
            for p in primitives_in(line) {
                if let Some(i) = PENDING.iter().position(|&(f, q)| f == name && q == p) {
                    pending_seen[i] = true;
                    continue;
                }
                let why = PRIMITIVES
                    .iter()
                    .find(|(q, _)| *q == p)
                    .map(|(_, w)| *w)
                    .unwrap_or_default();
                offenders.push(format!("{name}:{}: `{p}` ({why}): {}", n + 1, line.trim()));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "scope read outside crates/boai-store/src/scoped.rs:\n{}",
        offenders.join("\n")
    );
    let stale: Vec<_> = PENDING
        .iter()
        .zip(pending_seen)
        .filter(|(_, seen)| !seen)
        .map(|((f, p), _)| format!("{f}: `{p}`"))
        .collect();
    assert!(stale.is_empty(), "no longer there, remove from PENDING: {stale:?}");
    Ok(())
}

#[test]
fn the_scan_sees_each_primitive() {
    for (p, _) in PRIMITIVES {
        let line = format!("    let x = {p}y);");
        assert_eq!(primitives_in(&line), vec![*p], "{line}");
        assert!(primitives_in(&format!("// {line}")).is_empty());
    }
    assert!(primitives_in(r#"if self.path.starts_with("/api/") {"#).is_empty());
    assert_eq!(primitives_in("x.path.starts_with(&p)"), vec!["path.starts_with("]);
}
