//! `boai backup --out FILE` and `boai restore FILE` (decision 0008).
//!
//! The archive is one `tar.gz` file:
//! - `manifest.json` first: format and version, the binary's version, the
//!   backend it came from, when, the schema version (newest migration), every
//!   table's row count, and the SHA-256 and size of every other member;
//! - `db/<table>.jsonl`: the rows, backend-neutral (see `boai_store::backup`),
//!   all read in one consistent snapshot while the server keeps writing;
//! - `data/…`: the data folder (secrets, ledger key, witness checkpoint,
//!   relief files…), without the SQLite database's own files.
//!
//! Rules:
//! - Backup order makes the copy consistent: the data folder's small files
//!   (notably the witness checkpoint, which must never be ahead of the
//!   ledger) are copied BEFORE the database snapshot, the content-addressed
//!   `relief-files/` AFTER it (so every file a snapshot row names is there).
//!   The archive is written to a temporary name, synced, then renamed.
//! - Restore writes nothing until the whole archive is read and checked: every
//!   member's checksum and size, no member missing or extra, the schema
//!   version equal to this build's. It then refuses a database or data folder
//!   that is not empty (exit 1, with the reason), migrates, loads every table
//!   in one transaction (counts checked against the manifest), and only then
//!   copies the data folder's files in.

use crate::settings::Settings;
use anyhow::{bail, ensure, Context};
use boai_store::backup::TableRows;
use boai_store::Store;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

/// What `format` says in every manifest.
pub const FORMAT: &str = "boai-backup";
/// The archive layout's version.
pub const FORMAT_VERSION: u32 = 1;
/// The data folder's sub-folder whose files are named by content.
const CONTENT_FOLDERS: &[&str] = &["relief-files"];

/// The archive's table of contents.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct Manifest {
    pub format: String,
    pub format_version: u32,
    pub boai_version: String,
    pub backend: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub schema_version: String,
    pub tables: Vec<TableRows>,
    /// Every other member: path in the archive → checksum and size.
    pub files: BTreeMap<String, Member>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Member {
    pub sha256: String,
    pub bytes: u64,
}

fn spinner(message: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    bar.set_message(message.to_owned());
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    bar
}

/// The files of the database itself, which the data folder copy leaves out.
fn database_files(settings: &Settings) -> Vec<PathBuf> {
    let url = settings.database_url();
    let Some(path) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) else {
        return Vec::new();
    };
    let path = PathBuf::from(path.split('?').next().unwrap_or(path));
    let path = std::fs::canonicalize(&path).unwrap_or(path);
    ["", "-wal", "-shm", "-journal"]
        .iter()
        .map(|suffix| {
            let mut p = path.clone().into_os_string();
            p.push(suffix);
            PathBuf::from(p)
        })
        .collect()
}

/// Every file under `root` (relative paths, sorted), skipping `skip`,
/// keeping those `filter` accepts.
fn walk(root: &Path, skip: &[PathBuf], filter: &dyn Fn(&Path) -> bool) -> anyhow::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", dir.display())),
        };
        for entry in entries {
            let entry = entry?;
            let path = entry.path();
            let kind = entry.file_type()?;
            if kind.is_dir() {
                stack.push(path);
            } else if kind.is_file() {
                let canonical = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
                if skip.contains(&canonical) {
                    continue;
                }
                let relative = path.strip_prefix(root)?.to_path_buf();
                if filter(&relative) {
                    found.push(relative);
                }
            }
        }
    }
    found.sort();
    Ok(found)
}

fn in_content_folder(relative: &Path) -> bool {
    relative
        .components()
        .next()
        .is_some_and(|c| CONTENT_FOLDERS.iter().any(|f| c.as_os_str() == *f))
}

fn copy_files(from: &Path, to: &Path, files: &[PathBuf]) -> anyhow::Result<()> {
    for relative in files {
        let target = to.join(relative);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::copy(from.join(relative), &target)
            .with_context(|| format!("cannot copy {}", from.join(relative).display()))?;
    }
    Ok(())
}

fn hash_file(path: &Path) -> anyhow::Result<Member> {
    let mut file = std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut bytes = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        bytes += n as u64;
    }
    Ok(Member {
        sha256: hex::encode(hasher.finalize()),
        bytes,
    })
}

/// `boai backup --out FILE`.
pub async fn backup(settings: &Settings, out: &Path) -> anyhow::Result<ExitCode> {
    let url = settings.database_url();
    let store = Store::connect(&url, Arc::new(boai_domain::SystemClock))
        .await
        .context("cannot open the database")?;
    let schema_version = store
        .schema_version()
        .await?
        .context("the database has no schema: nothing to back up")?;
    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)?;
    let work = tempfile::Builder::new()
        .prefix(".boai-backup-")
        .tempdir_in(parent)
        .with_context(|| format!("cannot make a work folder in {}", parent.display()))?;
    let db_dir = work.path().join("db");
    let data_out = work.path().join("data");
    std::fs::create_dir_all(&db_dir)?;
    std::fs::create_dir_all(&data_out)?;
    let skip = database_files(settings);
    let data_dir = &settings.data_dir;

    // 1. The data folder's own files, before the snapshot.
    let small = walk(data_dir, &skip, &|p| !in_content_folder(p))?;
    copy_files(data_dir, &data_out, &small)?;

    // 2. The database, in one read transaction.
    let bar = spinner("reading the database");
    let created_at = chrono::Utc::now();
    let tables = store
        .export_tables(&db_dir, &mut |table, rows| {
            bar.set_message(format!("read {table}: {rows} rows"))
        })
        .await?;
    bar.finish_and_clear();
    store.close().await;

    // 3. Content-addressed files, after it.
    let content = walk(data_dir, &skip, &in_content_folder)?;
    copy_files(data_dir, &data_out, &content)?;

    // 4. The manifest, then the archive.
    let mut files = BTreeMap::new();
    for table in &tables {
        let name = format!("db/{}.jsonl", table.table);
        files.insert(name.clone(), hash_file(&work.path().join(&name))?);
    }
    for relative in small.iter().chain(content.iter()) {
        let name = archive_name("data", relative)?;
        files.insert(name.clone(), hash_file(&work.path().join(&name))?);
    }
    let manifest = Manifest {
        format: FORMAT.to_owned(),
        format_version: FORMAT_VERSION,
        boai_version: env!("CARGO_PKG_VERSION").to_owned(),
        backend: if url.starts_with("sqlite") {
            "sqlite"
        } else {
            "postgres"
        }
        .to_owned(),
        created_at,
        schema_version,
        tables,
        files,
    };
    let manifest_json = serde_json::to_vec_pretty(&manifest)?;
    let bar = spinner("writing the archive");
    let partial = work.path().join("archive.tar.gz");
    {
        let file = std::fs::File::create(&partial)?;
        let gz = flate2::write::GzEncoder::new(std::io::BufWriter::new(file), flate2::Compression::default());
        let mut tar = tar::Builder::new(gz);
        tar.mode(tar::HeaderMode::Deterministic);
        let mut header = tar::Header::new_gnu();
        header.set_size(manifest_json.len() as u64);
        header.set_mode(0o600);
        header.set_cksum();
        tar.append_data(&mut header, "manifest.json", manifest_json.as_slice())?;
        for name in manifest.files.keys() {
            bar.set_message(format!("writing {name}"));
            tar.append_path_with_name(work.path().join(name), name)?;
        }
        let gz = tar.into_inner()?;
        let writer = gz.finish()?;
        let file = writer.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
    }
    std::fs::rename(&partial, out).with_context(|| format!("cannot write {}", out.display()))?;
    if let Ok(dir) = std::fs::File::open(parent) {
        let _ = dir.sync_all();
    }
    bar.finish_and_clear();
    let rows: u64 = manifest.tables.iter().map(|t| t.rows).sum();
    println!(
        "backup written to {}: {} tables, {rows} rows, {} data files, schema {} ({})",
        out.display(),
        manifest.tables.len(),
        small.len() + content.len(),
        manifest.schema_version,
        manifest.backend
    );
    Ok(ExitCode::SUCCESS)
}

/// `data/<relative path with / separators>`; refuses odd names.
fn archive_name(prefix: &str, relative: &Path) -> anyhow::Result<String> {
    let mut name = prefix.to_owned();
    for part in relative.components() {
        let std::path::Component::Normal(part) = part else {
            bail!("unexpected path {}", relative.display());
        };
        name.push('/');
        name.push_str(part.to_str().context("a file name is not UTF-8")?);
    }
    Ok(name)
}

/// An archive read into a work folder and checked against its manifest.
struct Unpacked {
    work: tempfile::TempDir,
    manifest: Manifest,
}

/// Reads the whole archive into a work folder next to `near`, checking every
/// member; nothing else is touched.
fn unpack(archive: &Path, near: &Path) -> anyhow::Result<Unpacked> {
    std::fs::create_dir_all(near).ok();
    let work = tempfile::Builder::new()
        .prefix(".boai-restore-")
        .tempdir_in(near)
        .or_else(|_| tempfile::tempdir())?;
    let file = std::fs::File::open(archive).with_context(|| format!("cannot open {}", archive.display()))?;
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(std::io::BufReader::new(file)));
    let mut manifest: Option<Manifest> = None;
    let mut seen = BTreeMap::new();
    for entry in tar.entries().context("not a backup archive")? {
        let mut entry = entry.context("the archive is damaged")?;
        let name = entry.path()?.to_string_lossy().into_owned();
        if name == "manifest.json" {
            let mut text = Vec::new();
            entry.read_to_end(&mut text).context("the archive is damaged")?;
            manifest = Some(serde_json::from_slice(&text).context("the manifest cannot be read")?);
            continue;
        }
        ensure!(
            name.starts_with("db/") || name.starts_with("data/"),
            "unexpected member {name} in the archive"
        );
        ensure!(
            entry.unpack_in(work.path()).context("the archive is damaged")?,
            "member {name} would be written outside the restore folder"
        );
        seen.insert(name.clone(), hash_file(&work.path().join(&name))?);
    }
    let manifest = manifest.context("the archive has no manifest.json")?;
    ensure!(
        manifest.format == FORMAT && manifest.format_version == FORMAT_VERSION,
        "not a Boai backup of a format this version reads ({} v{})",
        manifest.format,
        manifest.format_version
    );
    for (name, want) in &manifest.files {
        let got = seen
            .get(name)
            .with_context(|| format!("member {name} is missing from the archive"))?;
        ensure!(
            got == want,
            "member {name} does not match its checksum: the archive is damaged"
        );
    }
    if let Some(extra) = seen.keys().find(|name| !manifest.files.contains_key(*name)) {
        bail!("member {extra} is not in the manifest");
    }
    for table in boai_store::backup::TABLES {
        ensure!(
            manifest.files.contains_key(&format!("db/{table}.jsonl")),
            "the archive has no rows file for table {table}"
        );
    }
    Ok(Unpacked { work, manifest })
}

/// Whether the data folder holds anything besides the database's own files.
fn data_folder_empty(settings: &Settings) -> anyhow::Result<bool> {
    let skip = database_files(settings);
    Ok(walk(&settings.data_dir, &skip, &|_| true)?.is_empty())
}

/// `boai restore FILE`.
pub async fn restore(settings: &Settings, archive: &Path) -> anyhow::Result<ExitCode> {
    let data_dir = settings.data_dir.clone();
    let near = data_dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf();
    let bar = spinner("reading and checking the archive");
    let checked = {
        let archive = archive.to_path_buf();
        tokio::task::spawn_blocking(move || unpack(&archive, &near)).await?
    };
    bar.finish_and_clear();
    let Unpacked { work, manifest } = match checked {
        Ok(u) => u,
        Err(e) => {
            eprintln!("boai: refusing to restore {}: {e:#}", archive.display());
            return Ok(ExitCode::from(1));
        }
    };
    let latest = Store::latest_schema_version();
    if manifest.schema_version != latest {
        eprintln!(
            "boai: the backup's schema is {}, this build's is {latest}: restore it with the same version of boai",
            manifest.schema_version
        );
        return Ok(ExitCode::from(1));
    }
    if !data_folder_empty(settings)? {
        eprintln!(
            "boai: the data folder {} is not empty; restore only into an empty one",
            data_dir.display()
        );
        return Ok(ExitCode::from(1));
    }
    let url = settings.database_url();
    let store = Store::connect(&url, Arc::new(boai_domain::SystemClock))
        .await
        .context("cannot open the database")?;
    if !store.is_empty_for_restore().await? {
        eprintln!(
            "boai: the database at {url_shown} is not empty; restore only into an empty one",
            url_shown = redact(&url)
        );
        return Ok(ExitCode::from(1));
    }
    store.migrate().await.context("migrations failed")?;
    let total: u64 = manifest.tables.iter().map(|t| t.rows).sum();
    let bar = indicatif::ProgressBar::new(total);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} rows ({eta})")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let mut done_before = 0u64;
    let mut current = String::new();
    let origin = format!(
        "{} {}",
        manifest.created_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        manifest.backend
    );
    let counts = store
        .import_tables(&work.path().join("db"), &manifest.tables, &origin, &mut |table, n| {
            if current != table {
                done_before = bar.position();
                current = table.to_owned();
                bar.set_message(format!("loading {table}"));
            }
            bar.set_position(done_before + n);
        })
        .await
        .context("restoring the database failed (nothing was written)")?;
    bar.finish_and_clear();
    store.close().await;

    // The data folder, last.
    std::fs::create_dir_all(&data_dir)?;
    let data_files: Vec<&String> = manifest.files.keys().filter(|n| n.starts_with("data/")).collect();
    for name in &data_files {
        let relative = name.trim_start_matches("data/");
        let target = data_dir.join(relative);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::copy(work.path().join(name), &target).with_context(|| format!("cannot write {}", target.display()))?;
    }
    drop(work);
    let rows: u64 = counts.iter().map(|t| t.rows).sum();
    println!(
        "restored {} tables, {rows} rows (every count as in the manifest) and {} data files from a {} backup of {}; schema {}",
        counts.len(),
        data_files.len(),
        manifest.backend,
        manifest.created_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        manifest.schema_version
    );
    Ok(ExitCode::SUCCESS)
}

/// A database URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let user_info = &url[scheme + 3..at];
            let user = user_info.split(':').next().unwrap_or_default();
            format!("{}{user}@{}", &url[..scheme + 3], &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}
