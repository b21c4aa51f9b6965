//! The server's settings from a TOML file (`--config FILE`). Each setting can also come from a
//! `SYNC_*` environment variable or a command-line flag: a flag wins over the variable, which
//! wins over the file, which wins over the built-in default. The command line and the
//! variables are read by the binary (clap); this module reads the file and applies the order.
//!
//! ```toml
//! db = "postgres://pos@localhost/pos"   # SYNC_DB, --db
//! listen = "0.0.0.0:8080"               # SYNC_LISTEN, --listen
//! nats = "nats://127.0.0.1:4222"        # SYNC_NATS, --nats (no NATS publisher if absent)
//! nats_prefix = "pos"                   # SYNC_NATS_PREFIX, --nats-prefix (streams POS_SALES...)
//! max_body_bytes = 16777216             # SYNC_MAX_BODY_BYTES, --max-body-bytes
//! max_records = 5000                    # SYNC_MAX_RECORDS, --max-records
//! secret_key_file = "/etc/pos/sync-server.key" # SYNC_SECRET_KEY_FILE, --secret-key-file
//! # (or the key itself in SYNC_SECRET_KEY; see `crate::server_key` for the default file)
//! tls_cert = "/etc/pos/hq.pem"          # SYNC_TLS_CERT, --tls-cert (certificate chain, PEM)
//! tls_key = "/etc/pos/hq.key"           # SYNC_TLS_KEY, --tls-key (its private key, PEM);
//! # with both, `serve` speaks HTTPS only (see `crate::tls`)
//! metrics_listen = "127.0.0.1:9464"     # SYNC_METRICS_LISTEN, --metrics-listen (Prometheus
//! # metrics on an address of their own, see `crate::ops`; not served if absent)
//! tills_waiting_after_seconds = 3600    # SYNC_TILLS_WAITING_AFTER, --tills-waiting-after
//! log_format = "json"                   # SYNC_LOG_FORMAT, --log-format (`text` by default)
//! web_dir = "/usr/share/pos/head-office" # SYNC_WEB_DIR, --web-dir (the built web app, served
//! # under /hq/; default ui/head-office/dist when built under the working directory)
//! logistics_inbox = "/var/spool/pos/asn" # SYNC_LOGISTICS_INBOX, --logistics-inbox (CSV files of
//! # shipping notices taken in, see `crate::logistics_inbox`; not watched if absent)
//!
//! [webhooks]
//! max_attempts = 12          # SYNC_WEBHOOK_MAX_ATTEMPTS, --webhook-max-attempts
//! first_retry_seconds = 5    # SYNC_WEBHOOK_FIRST_RETRY, --webhook-first-retry
//! max_retry_seconds = 3600   # SYNC_WEBHOOK_MAX_RETRY, --webhook-max-retry
//! timeout_seconds = 10       # SYNC_WEBHOOK_TIMEOUT, --webhook-timeout
//! ca_file = "/etc/pos/ca.pem" # SYNC_WEBHOOK_CA, --webhook-ca (trusted besides the system's)
//! ```

use std::path::Path;

use serde::Deserialize;

/// The built-in database: a SQLite file in the working directory.
pub const DEFAULT_DB: &str = "sqlite:sync-server.sqlite";
/// The built-in listening address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// The settings a config file may hold; every one is optional.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub db: Option<String>,
    pub listen: Option<String>,
    pub nats: Option<String>,
    pub nats_prefix: Option<String>,
    pub max_body_bytes: Option<usize>,
    pub max_records: Option<usize>,
    /// The file of the server key that seals webhook secrets (see [`crate::server_key`]).
    pub secret_key_file: Option<std::path::PathBuf>,
    /// The certificate chain `serve` presents over HTTPS (PEM), with `tls_key`.
    pub tls_cert: Option<std::path::PathBuf>,
    /// The private key of `tls_cert` (PEM).
    pub tls_key: Option<std::path::PathBuf>,
    /// The address serving Prometheus metrics (see [`crate::ops`]).
    pub metrics_listen: Option<String>,
    /// Seconds without a word from a till after which it counts as waiting in the metrics.
    pub tills_waiting_after_seconds: Option<u64>,
    /// How log lines are written.
    pub log_format: Option<LogFormat>,
    /// The head-office web app's built folder (see [`crate::web_app`]).
    pub web_dir: Option<std::path::PathBuf>,
    /// The logistics drop folder (see [`crate::logistics_inbox`]).
    pub logistics_inbox: Option<std::path::PathBuf>,
    #[serde(default)]
    pub webhooks: WebhookFileConfig,
}

/// How the server writes its log lines (to standard error).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// For people: one line per event, aligned fields.
    #[default]
    Text,
    /// For log collectors: one JSON object per line (`timestamp`, `level`, `target`,
    /// `message` and the event's fields).
    Json,
}

impl std::str::FromStr for LogFormat {
    type Err = String;

    fn from_str(text: &str) -> Result<LogFormat, String> {
        match text {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            other => Err(format!("`{other}` is not a log format: give text or json")),
        }
    }
}

/// The `[webhooks]` table of a config file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookFileConfig {
    pub max_attempts: Option<u32>,
    pub first_retry_seconds: Option<u64>,
    pub max_retry_seconds: Option<u64>,
    pub timeout_seconds: Option<u64>,
    pub ca_file: Option<std::path::PathBuf>,
}

/// Why a config file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the config file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("the config file {path} is not valid: {message}")]
    Invalid { path: String, message: String },
}

impl FileConfig {
    /// Reads and checks a config file (unknown keys are refused, so a typo is not ignored).
    pub fn load(path: &Path) -> Result<FileConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        FileConfig::parse(&text).map_err(|message| ConfigError::Invalid {
            path: path.display().to_string(),
            message,
        })
    }

    /// Parses the TOML text of a config file.
    pub fn parse(text: &str) -> Result<FileConfig, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }
}

/// The value of a setting: the flag or variable (clap merged those two), else the file's,
/// else the default.
pub fn pick<T>(command_line: Option<T>, file: Option<T>, default: T) -> T {
    command_line.or(file).unwrap_or(default)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_file_parses() {
        let config = FileConfig::parse(
            r#"
db = "postgres://pos@localhost/pos"
listen = "0.0.0.0:8080"
nats = "nats://127.0.0.1:4222"
max_body_bytes = 1024
max_records = 10
tls_cert = "/etc/pos/hq.pem"
tls_key = "/etc/pos/hq.key"
metrics_listen = "127.0.0.1:9464"
tills_waiting_after_seconds = 600
log_format = "json"
[webhooks]
max_attempts = 3
first_retry_seconds = 1
max_retry_seconds = 60
timeout_seconds = 2
"#,
        )
        .unwrap();
        assert_eq!(config.db.as_deref(), Some("postgres://pos@localhost/pos"));
        assert_eq!(config.max_records, Some(10));
        assert_eq!(
            config.tls_cert.as_deref(),
            Some(Path::new("/etc/pos/hq.pem"))
        );
        assert_eq!(
            config.tls_key.as_deref(),
            Some(Path::new("/etc/pos/hq.key"))
        );
        assert_eq!(config.webhooks.max_attempts, Some(3));
        assert_eq!(config.metrics_listen.as_deref(), Some("127.0.0.1:9464"));
        assert_eq!(config.tills_waiting_after_seconds, Some(600));
        assert_eq!(config.log_format, Some(LogFormat::Json));
    }

    #[test]
    fn a_log_format_is_text_or_json() {
        assert_eq!("json".parse(), Ok(LogFormat::Json));
        assert_eq!("text".parse(), Ok(LogFormat::Text));
        let wrong = "xml".parse::<LogFormat>().unwrap_err();
        assert!(wrong.contains("text or json"), "{wrong}");
        let refused = FileConfig::parse("log_format = \"xml\"").unwrap_err();
        assert!(refused.contains("log_format"), "{refused}");
    }

    #[test]
    fn an_unknown_key_or_a_wrong_type_is_refused_with_its_name() {
        let typo = FileConfig::parse("listn = \"x\"").unwrap_err();
        assert!(typo.contains("listn"), "{typo}");
        let wrong = FileConfig::parse("max_records = \"many\"").unwrap_err();
        assert!(wrong.contains("max_records"), "{wrong}");
    }

    #[test]
    fn the_command_line_wins_over_the_file_over_the_default() {
        assert_eq!(pick(Some(1), Some(2), 3), 1);
        assert_eq!(pick(None, Some(2), 3), 2);
        assert_eq!(pick(None, None, 3), 3);
    }
}
