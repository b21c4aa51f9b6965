//! The server key, and the webhook secrets sealed under it so the database never holds them
//! in clear.
//!
//! - **Cipher**: XChaCha20-Poly1305 (RustCrypto `chacha20poly1305`), a random 24-byte nonce
//!   per secret, the webhook id as associated data (a sealed secret copied onto another
//!   webhook does not open). Stored as `xc20p1:<hex nonce ‖ ciphertext ‖ tag>`.
//! - **Key**: 32 bytes, never in the database. `SYNC_SECRET_KEY` (64 hex digits) if set;
//!   otherwise a key file (`secret_key_file` in the config file, `--secret-key-file`,
//!   `SYNC_SECRET_KEY_FILE`), by default `sync-server.key` next to the config file, or without
//!   one next to the SQLite database, or in the working directory (PostgreSQL without a config
//!   file). The file holds the key in hex; it is created with mode 0600 the first time a
//!   secret is sealed, never overwritten.
//! - **Start**: every sealed secret must open with the key (a wrong key stops the server with
//!   a message, rather than signing deliveries with garbage); secrets stored in clear by
//!   earlier versions are then sealed, each in its own transaction, so no webhook is lost.
//! - **Files**: the key file and the SQLite database (tokens' hashes, customers, sales) are
//!   readable by their owner only: [`create_owner_only`] makes a new database file mode 0600
//!   before SQLite opens it (its `-wal` and `-shm` then get the same mode), and
//!   [`warn_if_shared`] names, at start, each such file others may read and the `chmod 600` to
//!   run.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chacha20poly1305::XChaCha20Poly1305;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};

use crate::secrets;
use crate::store::{Store, StoreError};

/// The prefix of a sealed secret: cipher and format version.
const SEALED_PREFIX: &str = "xc20p1:";
const NONCE_BYTES: usize = 24;

/// Why the key or a sealed secret could not be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(
        "the server key {source_name} is not 64 hex digits: give the key the secrets were sealed with, or a new one from `openssl rand -hex 32`"
    )]
    Malformed { source_name: String },
    #[error("cannot read or create the server key file {path}: {message}")]
    File { path: String, message: String },
    #[error(
        "the secret of webhook `{webhook}` does not open with the server key from {source_name}: start with the key it was sealed with (the key file or SYNC_SECRET_KEY used before); nothing was changed"
    )]
    WrongKey {
        webhook: String,
        source_name: String,
    },
    #[error(
        "webhook secrets are sealed, but there is no server key ({source_name} does not exist): restore the key file or set SYNC_SECRET_KEY to the key used before"
    )]
    Missing { source_name: String },
    #[error("the stored secret of webhook `{webhook}` is not a sealed secret")]
    NotSealed { webhook: String },
    #[error("no randomness available: {0}")]
    Random(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The server's 32-byte key.
#[derive(Clone)]
pub struct ServerKey {
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for ServerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerKey(..)")
    }
}

fn associated_data(webhook: &str) -> Vec<u8> {
    format!("pos-sync-server webhook secret {webhook}").into_bytes()
}

impl ServerKey {
    /// A key from its 32 bytes.
    pub fn from_bytes(bytes: &[u8; 32]) -> ServerKey {
        ServerKey {
            cipher: XChaCha20Poly1305::new(&(*bytes).into()),
        }
    }

    /// A key from 64 hex digits (surrounding white space ignored); `source_name` says where it
    /// came from, for the error.
    pub fn from_hex(text: &str, source_name: &str) -> Result<ServerKey, KeyError> {
        let malformed = || KeyError::Malformed {
            source_name: source_name.to_string(),
        };
        let bytes: [u8; 32] = hex::decode(text.trim())
            .map_err(|_| malformed())?
            .try_into()
            .map_err(|_| malformed())?;
        Ok(ServerKey::from_bytes(&bytes))
    }

    /// Seals the secret of `webhook`.
    pub fn seal(&self, webhook: &str, secret: &str) -> Result<String, KeyError> {
        let nonce: [u8; NONCE_BYTES] =
            secrets::random_bytes().map_err(|e| KeyError::Random(e.to_string()))?;
        let aad = associated_data(webhook);
        let sealed = self
            .cipher
            .encrypt(
                &nonce.into(),
                Payload {
                    msg: secret.as_bytes(),
                    aad: &aad,
                },
            )
            .map_err(|_| KeyError::Random("the cipher refused the secret".into()))?;
        let mut bytes = nonce.to_vec();
        bytes.extend(sealed);
        Ok(format!("{SEALED_PREFIX}{}", hex::encode(bytes)))
    }

    /// Opens the sealed secret of `webhook`; `None` if it does not open with this key (or was
    /// sealed for another webhook, or altered).
    pub fn open(&self, webhook: &str, sealed: &str) -> Option<String> {
        let bytes = hex::decode(sealed.strip_prefix(SEALED_PREFIX)?).ok()?;
        if bytes.len() < NONCE_BYTES {
            return None;
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_BYTES);
        let nonce: [u8; NONCE_BYTES] = nonce.try_into().ok()?;
        let aad = associated_data(webhook);
        let plain = self
            .cipher
            .decrypt(
                &nonce.into(),
                Payload {
                    msg: ciphertext,
                    aad: &aad,
                },
            )
            .ok()?;
        String::from_utf8(plain).ok()
    }
}

/// Where the server key comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeySource {
    /// The key itself, in hex (`SYNC_SECRET_KEY`).
    Hex(String),
    /// A file holding the key in hex, created when first needed.
    File(PathBuf),
}

/// The name of the key file when none is given.
pub const DEFAULT_KEY_FILE: &str = "sync-server.key";

impl KeySource {
    /// The source from the settings: the key if given, else the key file if given, else
    /// [`DEFAULT_KEY_FILE`] next to the config file, or next to a SQLite database, or in the
    /// working directory.
    pub fn pick(
        key: Option<String>,
        file: Option<PathBuf>,
        config: Option<&Path>,
        db: &str,
    ) -> KeySource {
        if let Some(key) = key {
            return KeySource::Hex(key);
        }
        if let Some(file) = file {
            return KeySource::File(file);
        }
        let dir = config
            .map(|c| c.parent().unwrap_or(Path::new("")).to_path_buf())
            .or_else(|| {
                let path = sqlite_file(db)?;
                Some(path.parent().unwrap_or(Path::new("")).to_path_buf())
            })
            .unwrap_or_default();
        KeySource::File(dir.join(DEFAULT_KEY_FILE))
    }

    /// How the source is named in messages.
    pub fn name(&self) -> String {
        match self {
            KeySource::Hex(_) => "SYNC_SECRET_KEY".into(),
            KeySource::File(path) => format!("the key file {}", path.display()),
        }
    }

    /// The key, or `None` if its file does not exist yet.
    pub fn load(&self) -> Result<Option<ServerKey>, KeyError> {
        match self {
            KeySource::Hex(text) => ServerKey::from_hex(text, &self.name()).map(Some),
            KeySource::File(path) => match std::fs::read_to_string(path) {
                Ok(text) => {
                    warn_if_shared(path);
                    ServerKey::from_hex(&text, &self.name()).map(Some)
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(KeyError::File {
                    path: path.display().to_string(),
                    message: e.to_string(),
                }),
            },
        }
    }

    /// The key, creating its file (mode 0600) with a random key if it does not exist. Two
    /// processes creating it at once end with the same key: the file is created exclusively
    /// and the loser reads the winner's.
    pub fn load_or_create(&self) -> Result<ServerKey, KeyError> {
        if let Some(key) = self.load()? {
            return Ok(key);
        }
        let KeySource::File(path) = self else {
            unreachable!("a key given in hex always loads or fails");
        };
        let file_error = |e: std::io::Error| KeyError::File {
            path: path.display().to_string(),
            message: e.to_string(),
        };
        let bytes: [u8; 32] =
            secrets::random_bytes().map_err(|e| KeyError::Random(e.to_string()))?;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        // Written to a temporary name and linked into place, so a reader never sees a
        // half-written key and a crash leaves no empty key file.
        let temporary = path.with_extension(format!("key.{}.tmp", std::process::id()));
        let mut file = options.open(&temporary).map_err(file_error)?;
        let written = file
            .write_all(format!("{}\n", hex::encode(bytes)).as_bytes())
            .and_then(|()| file.sync_all());
        let linked = written.and_then(|()| std::fs::hard_link(&temporary, path));
        let _ = std::fs::remove_file(&temporary);
        match linked {
            Ok(()) => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
                }
                tracing::info!(file = %path.display(), "server key created: back it up, webhook secrets need it");
                Ok(ServerKey::from_bytes(&bytes))
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                self.load()?.ok_or_else(|| KeyError::Missing {
                    source_name: self.name(),
                })
            }
            Err(e) => Err(file_error(e)),
        }
    }
}

/// The file of a `sqlite:FILE` (or `sqlite://FILE`) database URL; `None` for another database.
pub fn sqlite_file(db: &str) -> Option<PathBuf> {
    let path = db.strip_prefix("sqlite:")?;
    Some(PathBuf::from(path.strip_prefix("//").unwrap_or(path)))
}

/// Creates `path` empty and readable by its owner only, unless it exists.
pub fn create_owner_only(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// Whether the file at `path` exists and others than its owner may read or write it.
pub fn is_shared(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o077 != 0)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        false
    }
}

/// Warns, naming the command that fixes it, when others than its owner may read `path`.
pub fn warn_if_shared(path: &Path) {
    if is_shared(path) {
        tracing::warn!(
            file = %path.display(),
            "other users of this machine may read {}, which holds head office's secrets or data: run `chmod 600 {}`",
            path.display(),
            path.display()
        );
    }
}

/// Creates a SQLite database file of `db` owner-only if it does not exist yet (before SQLite
/// opens it), and warns about its files others may read. Nothing for another database.
pub fn protect_sqlite_files(db: &str) -> std::io::Result<()> {
    let Some(path) = sqlite_file(db) else {
        return Ok(());
    };
    create_owner_only(&path)?;
    for suffix in ["", "-wal", "-shm"] {
        let mut name = path.as_os_str().to_os_string();
        name.push(suffix);
        warn_if_shared(Path::new(&name));
    }
    Ok(())
}

/// The key the webhook worker opens secrets with and the admin API seals new ones with:
/// loaded when first needed, so a server started before the first webhook (and its key file)
/// existed finds the key the admin command made. The default has no key and no source: every
/// use of it fails with [`KeyError::Missing`].
#[derive(Debug, Default)]
pub struct ServerKeys {
    source: Option<KeySource>,
    key: Mutex<Option<Arc<ServerKey>>>,
}

impl ServerKeys {
    /// Always this key.
    pub fn fixed(key: ServerKey) -> ServerKeys {
        ServerKeys {
            source: None,
            key: Mutex::new(Some(Arc::new(key))),
        }
    }

    /// The key of `source`, loaded now if it exists, else when first needed.
    pub fn from_source(source: KeySource, loaded: Option<ServerKey>) -> ServerKeys {
        ServerKeys {
            source: Some(source),
            key: Mutex::new(loaded.map(Arc::new)),
        }
    }

    /// The key to seal a new secret with: [`ServerKeys::get`], or, when its source holds no
    /// key yet, a new one created there ([`KeySource::load_or_create`]).
    pub fn get_or_create(&self) -> Result<Arc<ServerKey>, KeyError> {
        match self.get() {
            Err(KeyError::Missing { .. }) if self.source.is_some() => {
                let mut held = self.key.lock().unwrap_or_else(|e| e.into_inner());
                let source = self.source.as_ref().expect("checked above");
                let key = Arc::new(source.load_or_create()?);
                *held = Some(key.clone());
                Ok(key)
            }
            other => other,
        }
    }

    /// The key, loading it if needed.
    pub fn get(&self) -> Result<Arc<ServerKey>, KeyError> {
        let mut held = self.key.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(key) = held.as_ref() {
            return Ok(key.clone());
        }
        let source = self.source.as_ref().ok_or_else(|| KeyError::Missing {
            source_name: "no key source".into(),
        })?;
        let key = Arc::new(source.load()?.ok_or_else(|| KeyError::Missing {
            source_name: source.name(),
        })?);
        *held = Some(key.clone());
        Ok(key)
    }
}

/// What [`prepare_webhook_secrets`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SealReport {
    /// Sealed secrets checked to open with the key.
    pub checked: usize,
    /// Secrets found in clear and sealed.
    pub sealed: usize,
}

/// Checks that every sealed webhook secret opens with the key of `source`, then seals those
/// still in clear (creating the key file if needed). Returns the key, if there is one by then
/// (none when there is no webhook and no key yet).
pub async fn prepare_webhook_secrets(
    store: &dyn Store,
    source: &KeySource,
) -> Result<(Option<ServerKey>, SealReport), KeyError> {
    let mut report = SealReport::default();
    let stored = store.webhook_targets().await?;
    let key = source.load()?;
    if !stored.is_empty() {
        let Some(key) = &key else {
            return Err(KeyError::Missing {
                source_name: source.name(),
            });
        };
        for hook in &stored {
            if key.open(&hook.id, &hook.sealed_secret).is_none() {
                return Err(KeyError::WrongKey {
                    webhook: hook.id.clone(),
                    source_name: source.name(),
                });
            }
            report.checked += 1;
        }
    }
    let plain = store.plain_webhook_secrets().await?;
    if !plain.is_empty() {
        let key = match &key {
            Some(key) => key.clone(),
            None => source.load_or_create()?,
        };
        for (id, secret) in &plain {
            let sealed = key.seal(id, secret)?;
            store.seal_webhook_secret(id, &sealed).await?;
            report.sealed += 1;
        }
        tracing::info!(
            count = report.sealed,
            "webhook secrets stored in clear are now sealed"
        );
        return Ok((Some(key), report));
    }
    Ok((key, report))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_secret_opens_with_its_key_and_webhook_only() {
        let key = ServerKey::from_bytes(&[7; 32]);
        let sealed = key.seal("crm", "a-webhook-secret-of-some-length").unwrap();
        assert!(sealed.starts_with(SEALED_PREFIX));
        assert!(!sealed.contains("a-webhook-secret"));
        assert_eq!(
            key.open("crm", &sealed).as_deref(),
            Some("a-webhook-secret-of-some-length")
        );
        assert_eq!(key.open("shop", &sealed), None, "bound to its webhook");
        assert_eq!(ServerKey::from_bytes(&[8; 32]).open("crm", &sealed), None);
        assert_ne!(
            sealed,
            key.seal("crm", "a-webhook-secret-of-some-length").unwrap()
        );
        let at = sealed.len() - 5;
        let flipped = if &sealed[at..=at] == "0" { "1" } else { "0" };
        let altered = format!("{}{flipped}{}", &sealed[..at], &sealed[at + 1..]);
        assert_eq!(
            key.open("crm", &altered),
            None,
            "an altered secret does not open"
        );
    }

    #[test]
    fn a_malformed_key_is_refused_with_its_source() {
        let refused = ServerKey::from_hex("abc", "SYNC_SECRET_KEY").unwrap_err();
        assert!(refused.to_string().contains("SYNC_SECRET_KEY"), "{refused}");
        assert!(ServerKey::from_hex(&"ab".repeat(32), "x").is_ok());
    }

    #[test]
    fn the_key_file_is_created_once_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let source = KeySource::File(dir.path().join(DEFAULT_KEY_FILE));
        assert!(source.load().unwrap().is_none());
        let key = source.load_or_create().unwrap();
        let sealed = key.seal("w", "secret").unwrap();
        let again = source.load_or_create().unwrap();
        assert_eq!(again.open("w", &sealed).as_deref(), Some("secret"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(DEFAULT_KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn a_new_sqlite_database_is_created_owner_only_and_a_shared_one_is_noticed() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("server.sqlite");
        protect_sqlite_files(&format!("sqlite:{}", path.display())).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(
            mode & 0o777,
            0o600,
            "head office's database is created readable by its owner only"
        );
        assert!(!is_shared(&path));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(
            is_shared(&path),
            "a database others may read is warned about"
        );
        protect_sqlite_files(&format!("sqlite:{}", path.display())).unwrap();
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o644,
            "an existing database is only warned about, never changed"
        );
        assert!(protect_sqlite_files("postgres://pos@localhost/pos").is_ok());
    }

    #[test]
    fn the_default_key_file_is_next_to_the_config_or_the_sqlite_database() {
        let pick =
            |config: Option<&str>, db: &str| KeySource::pick(None, None, config.map(Path::new), db);
        assert_eq!(
            pick(Some("/etc/pos/sync.toml"), "sqlite:/var/x.sqlite"),
            KeySource::File("/etc/pos/sync-server.key".into())
        );
        assert_eq!(
            pick(None, "sqlite:/var/lib/pos/x.sqlite"),
            KeySource::File("/var/lib/pos/sync-server.key".into())
        );
        assert_eq!(
            pick(None, "postgres://pos@localhost/pos"),
            KeySource::File(DEFAULT_KEY_FILE.into())
        );
        assert_eq!(
            KeySource::pick(Some("k".into()), Some("/f".into()), None, "x"),
            KeySource::Hex("k".into())
        );
    }
}
