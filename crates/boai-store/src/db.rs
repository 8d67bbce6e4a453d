//! Opening the database. The URL alone picks the backend: `sqlite://…` (file
//! created if missing; WAL, `synchronous=FULL`, busy timeout, foreign keys on;
//! the one writer connection with a larger page cache)
//! or `postgres://…`.

use crate::migrations::Migrator;
use crate::StoreResult;
use sea_orm::sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbErr, SqlxSqliteConnector,
    TransactionTrait,
};
use sea_orm_migration::MigratorTrait;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

/// Which database engine a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// Prepared statements the SQLite writer keeps: the multi-row inserts of
/// every batch size up to `EXACT_INSERT_ROWS` for each table the gift writer
/// fills, and the rest of the application's writes.
const WRITER_STATEMENT_CACHE: usize = 1024;

/// The writer's page cache (negative: KiB), 64 MiB: a batch of gifts dirties
/// a few thousand pages, and SQLite's default (2 MiB) spilled them to the
/// WAL mid-transaction, to be written again at commit. Its statement
/// journals (multi-row inserts) stay in memory too (`temp_store`).
const WRITER_CACHE_SIZE: &str = "-65536";

/// The database, with a writer and readers.
#[derive(Debug, Clone)]
pub struct Store {
    pub(crate) read: DatabaseConnection,
    pub(crate) write: DatabaseConnection,
    backend: Backend,
    pub(crate) clock: Arc<dyn boai_domain::Clock>,
    pub(crate) secrets: Arc<crate::secrets::Secrets>,
    /// The root organisation's code (certificate prefix), read once.
    pub(crate) city_code: Arc<tokio::sync::OnceCell<String>>,
    /// Where the gift writer's ids and salts come from (random in service).
    pub(crate) draws: Arc<crate::draws::Draws>,
    /// The gift writer's queue (group commit), started on first use.
    pub(crate) gift_queue: Arc<tokio::sync::OnceCell<crate::fundraising::group_commit::GiftQueue>>,
    /// The public ledger's running digest, kept so readers add only new entries.
    pub(crate) ledger_digest: Arc<tokio::sync::Mutex<boai_ledger::LedgerDigest>>,
    /// The newest checkpoint this process signed or read (proofs are made
    /// against it without asking the database again).
    pub(crate) latest_checkpoint: Arc<std::sync::RwLock<Option<crate::ledger::SignedCheckpoint>>>,
    /// API tokens recently resolved (see `accounts::token_cache`).
    pub(crate) token_cache: Arc<crate::accounts::TokenCache>,
    /// How many passwords this store has checked against a hash (sign-in).
    pub(crate) password_checks: Arc<std::sync::atomic::AtomicU64>,
}

impl Store {
    /// Connects to the database the URL names.
    pub async fn connect(url: &str, clock: Arc<dyn boai_domain::Clock>) -> StoreResult<Store> {
        if url.starts_with("sqlite:") {
            let path = url.trim_start_matches("sqlite://").trim_start_matches("sqlite:");
            let path = path.split('?').next().unwrap_or(path);
            if let Some(parent) = std::path::Path::new(path).parent() {
                if !parent.as_os_str().is_empty() {
                    std::fs::create_dir_all(parent).map_err(|e| {
                        crate::StoreError::Unavailable(DbErr::Custom(format!(
                            "cannot create {}: {e}",
                            parent.display()
                        )))
                    })?;
                }
            }
            let options = SqliteConnectOptions::from_str(&format!("sqlite://{path}"))
                .map_err(|e| DbErr::Custom(e.to_string()))?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true);
            // The writer prepares a multi-row insert per table and batch
            // size (see `insert_chunked`): room for all of them.
            let write_pool = SqlitePoolOptions::new()
                .max_connections(1)
                .connect_with(
                    options
                        .clone()
                        .statement_cache_capacity(WRITER_STATEMENT_CACHE)
                        .pragma("cache_size", WRITER_CACHE_SIZE)
                        .pragma("temp_store", "memory"),
                )
                .await
                .map_err(|e| DbErr::Conn(sea_orm::RuntimeErr::SqlxError(e)))?;
            let read_pool = SqlitePoolOptions::new()
                .max_connections(4)
                .connect_with(options)
                .await
                .map_err(|e| DbErr::Conn(sea_orm::RuntimeErr::SqlxError(e)))?;
            Ok(Store::on(
                SqlxSqliteConnector::from_sqlx_sqlite_pool(read_pool),
                SqlxSqliteConnector::from_sqlx_sqlite_pool(write_pool),
                Backend::Sqlite,
                clock,
            ))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let mut options = ConnectOptions::new(url.to_owned());
            options
                .max_connections(16)
                .min_connections(1)
                .connect_timeout(Duration::from_secs(5))
                .acquire_timeout(Duration::from_secs(10))
                .sqlx_logging(false);
            let pool = Database::connect(options).await?;
            Ok(Store::on(pool.clone(), pool, Backend::Postgres, clock))
        } else {
            Err(crate::StoreError::Unavailable(DbErr::Custom(
                "database URL must start with sqlite:// or postgres://".to_owned(),
            )))
        }
    }

    /// A store over these connections, with fresh random keys and nothing
    /// cached yet.
    fn on(
        read: DatabaseConnection,
        write: DatabaseConnection,
        backend: Backend,
        clock: Arc<dyn boai_domain::Clock>,
    ) -> Store {
        Store {
            read,
            write,
            backend,
            clock,
            secrets: Arc::new(crate::secrets::Secrets::generate()),
            city_code: Arc::default(),
            draws: Arc::default(),
            gift_queue: Arc::default(),
            ledger_digest: Arc::default(),
            latest_checkpoint: Arc::default(),
            token_cache: Arc::default(),
            password_checks: Arc::default(),
        }
    }

    /// Uses these keys for personal data and signatures (the binary loads
    /// them from the data folder; without this call a store has fresh
    /// random keys, which suits tests only).
    pub fn with_secrets(mut self, secrets: crate::secrets::Secrets) -> Store {
        self.secrets = Arc::new(secrets);
        self
    }

    pub fn secrets(&self) -> &crate::secrets::Secrets {
        &self.secrets
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Begins a write transaction. On SQLite it takes the write lock at once
    /// (a no-op UPDATE, waiting up to the busy timeout), as `BEGIN IMMEDIATE`
    /// would: a deferred transaction that reads first and then writes fails
    /// at once with SQLITE_BUSY when another process (`boai secrets rotate`,
    /// `boai restore`, a second server) committed in between, and the busy
    /// timeout cannot help it. Every write transaction starts here.
    pub(crate) async fn begin_write(&self) -> Result<DatabaseTransaction, DbErr> {
        let txn = self.write.begin().await?;
        if self.backend == Backend::Sqlite {
            txn.execute_unprepared("UPDATE app_meta SET value = value WHERE 0")
                .await?;
        }
        Ok(txn)
    }

    /// For seeding a new database that nothing else uses yet: SQLite's
    /// writer stops waiting for the disk at each commit
    /// (`synchronous=OFF`). A killed process still loses nothing committed
    /// (the WAL is written before each commit returns); only a power cut
    /// or an operating-system crash could, and then the half-seeded demo
    /// is built again. Always followed by [`Store::durable_again`].
    /// PostgreSQL is left as it is.
    pub(crate) async fn seeding_without_fsync(&self) -> StoreResult<()> {
        if self.backend == Backend::Sqlite {
            self.write.execute_unprepared("PRAGMA synchronous = OFF").await?;
        }
        Ok(())
    }

    /// Ends [`Store::seeding_without_fsync`]: the writer waits for the disk
    /// at each commit again (`synchronous=FULL`), and a checkpoint syncs the
    /// WAL, copies it into the database file, syncs that and empties the
    /// WAL, so that everything written meanwhile is on disk.
    pub(crate) async fn durable_again(&self) -> StoreResult<()> {
        if self.backend == Backend::Sqlite {
            self.write.execute_unprepared("PRAGMA synchronous = FULL").await?;
            let checkpoint = self
                .write
                .query_one(sea_orm::Statement::from_string(
                    sea_orm::DbBackend::Sqlite,
                    "PRAGMA wal_checkpoint(TRUNCATE)",
                ))
                .await?
                .ok_or_else(|| crate::StoreError::Corrupt("wal_checkpoint answered nothing".into()))?;
            // (busy, WAL frames, frames copied): busy means readers kept
            // part of the WAL from being copied; the next commit under
            // FULL syncs the whole WAL file.
            let busy: i32 = checkpoint.try_get_by_index(0)?;
            if busy != 0 {
                tracing::warn!("demo: checkpoint after seeding was partly blocked by readers");
            }
        }
        Ok(())
    }

    /// Applies every pending migration, and rebuilds indexes a stopped
    /// demo seeding left deferred (see `demo::indexes`).
    pub async fn migrate(&self) -> StoreResult<()> {
        Migrator::up(&self.write, None).await?;
        let rebuilt = crate::demo::indexes::restore_deferred(self).await?;
        if rebuilt > 0 {
            tracing::warn!(rebuilt, "rebuilt indexes an interrupted seeding had deferred");
        }
        Ok(())
    }

    /// Whether every migration has been applied.
    pub async fn migrations_current(&self) -> StoreResult<bool> {
        Ok(Migrator::get_pending_migrations(&self.read).await?.is_empty())
    }

    /// A cheap round trip to the database.
    pub async fn ping(&self) -> StoreResult<()> {
        self.read.ping().await?;
        let _ = self.read.execute_unprepared("SELECT 1").await?;
        Ok(())
    }

    pub fn clock(&self) -> &Arc<dyn boai_domain::Clock> {
        &self.clock
    }

    pub(crate) fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }

    /// Baseline for benchmarks: single-row durable INSERTs, one after the
    /// other, each its own transaction, on the writer (same sync settings as
    /// the application), for `duration`. Returns how many were written. Uses
    /// a scratch table it creates and drops.
    pub async fn raw_insert_baseline(&self, duration: std::time::Duration) -> StoreResult<u64> {
        use sea_orm::{Statement, Value};
        let backend = self.write.get_database_backend();
        self.write.execute_unprepared("DROP TABLE IF EXISTS bench_raw").await?;
        self.write
            .execute_unprepared("CREATE TABLE bench_raw (id BIGINT PRIMARY KEY, v BIGINT NOT NULL)")
            .await?;
        let sql = match backend {
            sea_orm::DatabaseBackend::Postgres => "INSERT INTO bench_raw (id, v) VALUES ($1, $2)",
            _ => "INSERT INTO bench_raw (id, v) VALUES (?, ?)",
        };
        let start = std::time::Instant::now();
        let mut n: i64 = 0;
        while start.elapsed() < duration {
            n += 1;
            self.write
                .execute(Statement::from_sql_and_values(
                    backend,
                    sql,
                    [Value::from(n), Value::from(n * 7)],
                ))
                .await?;
        }
        self.write.execute_unprepared("DROP TABLE bench_raw").await?;
        Ok(u64::try_from(n).unwrap_or_default())
    }

    /// How long a plain `GROUP BY` over every gift takes (the baseline the
    /// running project totals are measured against).
    pub async fn raw_group_by_gifts(&self) -> StoreResult<std::time::Duration> {
        let start = std::time::Instant::now();
        let rows = self
            .read
            .query_all(sea_orm::Statement::from_string(
                self.read.get_database_backend(),
                "SELECT project_id, SUM(amount_fen), COUNT(*) FROM gifts GROUP BY project_id",
            ))
            .await?;
        let elapsed = start.elapsed();
        std::hint::black_box(rows);
        Ok(elapsed)
    }

    /// How many gifts there are.
    pub async fn gift_count(&self) -> StoreResult<u64> {
        use sea_orm::{EntityTrait, PaginatorTrait};
        Ok(crate::entities::gifts::Entity::find().count(&self.read).await?)
    }

    /// Closes the pools.
    pub async fn close(self) {
        let _ = self.read.close().await;
        let _ = self.write.close().await;
    }
}

/// Creates a fresh, empty database on the PostgreSQL server `server_url`
/// names (for tests and benchmarks) and returns its URL.
pub async fn create_scratch_database(server_url: &str, prefix: &str) -> StoreResult<String> {
    let name = format!("{prefix}_{}", uuid::Uuid::new_v4().simple());
    let admin = Database::connect(server_url).await?;
    admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await?;
    let _ = admin.close().await;
    let base = server_url
        .rsplit_once('/')
        .map(|(b, _)| b.to_owned())
        .unwrap_or_else(|| server_url.to_owned());
    Ok(format!("{base}/{name}"))
}

/// Drops a database made by [`create_scratch_database`].
pub async fn drop_scratch_database(server_url: &str, url: &str) -> StoreResult<()> {
    let Some((_, name)) = url.rsplit_once('/') else {
        return Ok(());
    };
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Ok(());
    }
    let admin = Database::connect(server_url).await?;
    admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await?;
    let _ = admin.close().await;
    Ok(())
}
