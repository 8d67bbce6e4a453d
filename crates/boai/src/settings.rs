//! Typed settings: defaults → a TOML file (`--config` or `BOAI_CONFIG`) →
//! `BOAI_…` environment variables → command-line flags. Secrets are never
//! printed or logged.

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// `sqlite:///abs/path/boai.db`, `sqlite://relative.db` or `postgres://user@host:port/db`.
    pub database_url: Option<String>,
    /// Address to listen on.
    pub listen: String,
    /// Folder for the SQLite database, keys and files.
    pub data_dir: PathBuf,
    /// `text` or `json` logs on stderr.
    pub log_format: String,
    /// Log filter, e.g. `info` or `boai=debug,info`.
    pub log_level: String,
    /// Minutes of inactivity after which a browser session ends.
    pub session_idle_minutes: i64,
    /// Hours after sign-in at which a browser session ends regardless.
    pub session_absolute_hours: i64,
    /// Consecutive failed sign-ins that lock an account (at most 10).
    pub lockout_threshold: i32,
    /// Minutes an account stays locked.
    pub lockout_minutes: i64,
    /// Sign-in attempts per minute per client address (at least 60).
    pub login_rate_per_minute: u32,
    /// Days an API token lives.
    pub token_days: i64,
    /// Served over HTTPS: cookies are marked `Secure` and responses carry
    /// `Strict-Transport-Security`.
    pub secure_cookies: bool,
    /// The address the public reaches this server at (QR codes on certificates).
    pub public_url: String,
    /// A CJK font file for certificates (default: search Debian's font folders).
    pub certificate_font: Option<PathBuf>,
    /// How many gifts `serve --demo` seeds into an empty database.
    pub demo_gifts: u64,
    /// The ledger's private signing key (default: `<data_dir>/ledger.key`).
    pub ledger_key_file: Option<PathBuf>,
    /// The name of a new ledger key: the log's origin line.
    pub ledger_origin: String,
    /// Seconds a client has to send a request's headers (from connecting,
    /// and between requests on a kept-alive connection).
    pub header_read_timeout_secs: u64,
    /// Seconds a connection may sit with nothing moving and no request
    /// being handled before it is closed.
    pub idle_timeout_secs: u64,
    /// Connections one client address may hold open at once.
    pub max_connections_per_ip: usize,
    /// Reverse proxies (addresses or networks) whose `X-Forwarded-For` is
    /// believed for the client's address; none by default.
    pub trusted_proxies: Vec<String>,
    /// The sandbox payment provider (confirms gifts without money); off
    /// unless set, `serve --demo` turns it on.
    pub sandbox_payments: bool,
    /// Who may read `/metrics`: `admin` (a signed-in administrator or an
    /// administrator's API token), `public` or `off`.
    pub metrics: boai_web::MetricsAccess,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            database_url: None,
            listen: "127.0.0.1:8080".to_owned(),
            data_dir: PathBuf::from("./data"),
            log_format: "text".to_owned(),
            log_level: "info".to_owned(),
            session_idle_minutes: 30,
            session_absolute_hours: 12,
            lockout_threshold: 5,
            lockout_minutes: 15,
            login_rate_per_minute: 60,
            token_days: 90,
            secure_cookies: false,
            public_url: "http://127.0.0.1:8080".to_owned(),
            certificate_font: None,
            demo_gifts: boai_store::demo::DEFAULT_GIFTS,
            ledger_key_file: None,
            ledger_origin: "boai.example/jinan".to_owned(),
            header_read_timeout_secs: 10,
            idle_timeout_secs: 60,
            max_connections_per_ip: 256,
            trusted_proxies: Vec::new(),
            sandbox_payments: false,
            metrics: boai_web::MetricsAccess::Admin,
        }
    }
}

impl Settings {
    /// Loads defaults, then the file (if any), then the environment.
    pub fn load(config_file: Option<&PathBuf>) -> Result<Settings, Box<figment::Error>> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        let file = config_file
            .cloned()
            .or_else(|| std::env::var_os("BOAI_CONFIG").map(PathBuf::from));
        if let Some(file) = file {
            figment = figment.merge(Toml::file_exact(file));
        }
        figment
            .merge(Env::prefixed("BOAI_").ignore(&["CONFIG", "DEMO_PASSWORD", "TEST_DATABASE", "TEST_PG_URL"]))
            .extract()
            .map_err(Box::new)
    }

    /// The database URL, defaulting to SQLite in the data folder.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) if !url.is_empty() => url.clone(),
            _ => format!("sqlite://{}", self.data_dir.join("boai.db").display()),
        }
    }

    /// Where the ledger's signing key lives.
    pub fn ledger_key_path(&self) -> PathBuf {
        self.ledger_key_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("ledger.key"))
    }

    /// Where the server keeps the newest checkpoint it signed.
    pub fn ledger_witness_path(&self) -> PathBuf {
        self.data_dir.join("ledger-checkpoint.txt")
    }

    /// The web layer's configuration; every security-relevant field is set
    /// here from the settings, none left to `WebConfig`'s (test) defaults.
    pub fn web_config(&self) -> anyhow::Result<boai_web::WebConfig> {
        let trusted_proxies =
            boai_web::client_addr::TrustedProxies::parse(&self.trusted_proxies).map_err(anyhow::Error::msg)?;
        Ok(boai_web::WebConfig {
            session_idle_minutes: self.session_idle_minutes,
            session_absolute_hours: self.session_absolute_hours,
            lockout_threshold: self.lockout_threshold.clamp(1, 10),
            lockout_minutes: self.lockout_minutes,
            login_rate_per_minute: self.login_rate_per_minute.max(60),
            token_days: self.token_days,
            secure_cookies: self.secure_cookies,
            public_url: self.public_url.clone(),
            certificate_font: self.certificate_font.clone(),
            ledger_witness: Some(self.ledger_witness_path()),
            relief_files: Some(self.data_dir.join("relief-files")),
            header_read_timeout: std::time::Duration::from_secs(self.header_read_timeout_secs.max(1)),
            idle_timeout: std::time::Duration::from_secs(self.idle_timeout_secs.max(1)),
            max_connections_per_ip: self.max_connections_per_ip.max(1),
            trusted_proxies,
            sandbox_payments: self.sandbox_payments,
            metrics: self.metrics,
            ..boai_web::WebConfig::default()
        })
    }
}

/// A documented example configuration (`boai print-config`).
pub const EXAMPLE: &str = r#"# Boai configuration. Every key is optional; the values shown are the
# defaults. Load it with `boai --config FILE …` or BOAI_CONFIG=FILE; any key
# can also be set as an environment variable BOAI_<KEY IN CAPITALS>, which
# wins over the file (e.g. BOAI_DATABASE_URL, BOAI_LISTEN, BOAI_DATA_DIR).

# Database. Empty means SQLite at <data_dir>/boai.db.
#   sqlite:///var/lib/boai/boai.db      (created if missing)
#   postgres://boai@127.0.0.1:5432/boai (the same code on PostgreSQL)
# database_url = ""

# Address the HTTP server listens on.
listen = "127.0.0.1:8080"

# Folder for the SQLite database, the ledger key and uploaded files.
data_dir = "./data"

# Logs go to stderr: "text" or "json"; level filter as for RUST_LOG.
log_format = "text"
log_level = "info"

# Browser sessions end after this many idle minutes, or this many hours
# after sign-in, whichever comes first.
session_idle_minutes = 30
session_absolute_hours = 12

# After this many consecutive failed sign-ins (at most 10) an account is
# locked for lockout_minutes; even the right password then gets 423.
lockout_threshold = 5
lockout_minutes = 15

# Sign-in attempts per minute per client address (429 beyond; at least 60).
login_rate_per_minute = 60

# API tokens live this many days unless revoked first.
token_days = 90

# Served over HTTPS: marks cookies Secure and sends Strict-Transport-Security.
# Turn on when Boai is served over HTTPS (directly or behind a TLS proxy).
secure_cookies = false

# The address the public reaches Boai at; certificate QR codes point here.
public_url = "http://127.0.0.1:8080"

# A CJK font for PDF certificates. Empty: search Debian's Noto CJK and
# WenQuanYi fonts (apt-get install fonts-noto-cjk).
# certificate_font = "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc"

# How many gifts `boai serve --demo` seeds into an empty database.
demo_gifts = 20000

# The public ledger's Ed25519 signing key (make one with `boai keygen`).
# Empty means <data_dir>/ledger.key; `serve --demo` makes it on first start.
# ledger_key_file = "/etc/boai/ledger.key"
# The name of a new key, which is the ledger's origin line.
ledger_origin = "boai.example/jinan"

# Connections: a client must send a request's headers within
# header_read_timeout_secs of connecting (and between requests on a kept-alive
# connection); a connection with nothing moving and no request being handled
# is closed after idle_timeout_secs; one client address may hold at most
# max_connections_per_ip connections at once (more are closed unanswered).
header_read_timeout_secs = 10
idle_timeout_secs = 60
max_connections_per_ip = 256

# Reverse proxies whose X-Forwarded-For names the client (rate limits, the
# audit trail's addresses), as addresses or networks, e.g.
# ["127.0.0.1", "10.0.0.0/8"]. Empty: the header is ignored, the client is the
# connection's peer. Connections from a listed proxy are not limited per address.
trusted_proxies = []

# The sandbox payment provider (/sandbox/…): it confirms online gifts WITHOUT
# money, for the demo and trials only. `boai serve --demo` turns it on; a plain
# `boai serve` has it off (those paths answer 404) unless this says true.
sandbox_payments = false

# Who may read /metrics (Prometheus text): "admin" (a signed-in administrator,
# or an administrator's API token as Authorization: Bearer …), "public"
# (anyone: only where the listener is not reachable from outside) or "off".
metrics = "admin"

# The demo accounts' password is taken from the environment variable
# BOAI_DEMO_PASSWORD when the demo is seeded (default "boai-demo").
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_parses_to_the_defaults() {
        let parsed: Settings = toml::from_str(EXAMPLE).unwrap_or_else(|e| panic!("{e}"));
        let defaults = Settings::default();
        assert_eq!(parsed.listen, defaults.listen);
        assert_eq!(parsed.lockout_threshold, defaults.lockout_threshold);
        assert_eq!(parsed.session_idle_minutes, defaults.session_idle_minutes);
        assert_eq!(parsed.database_url, None);
        assert_eq!(parsed.header_read_timeout_secs, defaults.header_read_timeout_secs);
        assert_eq!(parsed.idle_timeout_secs, defaults.idle_timeout_secs);
        assert_eq!(parsed.max_connections_per_ip, defaults.max_connections_per_ip);
        assert_eq!(parsed.trusted_proxies, defaults.trusted_proxies);
        assert_eq!(parsed.sandbox_payments, defaults.sandbox_payments);
        assert_eq!(parsed.metrics, defaults.metrics);
    }

    #[test]
    fn a_plain_serve_has_no_sandbox_no_public_metrics_and_no_trusted_proxy() -> anyhow::Result<()> {
        let config = Settings::default().web_config()?;
        assert!(!config.sandbox_payments);
        assert_eq!(config.metrics, boai_web::MetricsAccess::Admin);
        assert!(config.trusted_proxies.is_empty());
        assert_eq!(config.header_read_timeout, std::time::Duration::from_secs(10));
        assert_eq!(config.max_connections_per_ip, 256);
        let bad = Settings {
            trusted_proxies: vec!["proxy.example".to_owned()],
            ..Settings::default()
        };
        assert!(bad.web_config().is_err());
        Ok(())
    }

    #[test]
    fn default_database_is_sqlite_in_the_data_folder() {
        let s = Settings {
            data_dir: PathBuf::from("/tmp/x"),
            ..Settings::default()
        };
        assert_eq!(s.database_url(), "sqlite:///tmp/x/boai.db");
    }
}
