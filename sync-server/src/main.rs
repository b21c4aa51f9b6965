//! `sync-server`: serve the sync API, or administer the server's database.
//!
//! ```text
//! sync-server --db sqlite:server.sqlite serve --listen 127.0.0.1:8080
//! sync-server --config /etc/pos/sync-server.toml serve --nats nats://127.0.0.1:4222
//! sync-server --db sqlite:server.sqlite admin webhook add --url https://crm.example/hook --secret "$(openssl rand -hex 32)" --types pos.crm
//! sync-server --db postgres://pos@localhost/pos admin entity create --id ACME --name "Acme SA" --siren 123456789
//! sync-server --db sqlite:server.sqlite --json admin till create --shop PARIS-OPERA --name "Caisse 1"
//! sync-server --db sqlite:server.sqlite admin region create --id NORTH --name "Nord"
//! sync-server --db sqlite:server.sqlite admin shop update --id PARIS-OPERA --region NORTH
//! sync-server --db sqlite:server.sqlite admin user create --name "Rita" --role regional_manager --region NORTH
//! sync-server --db sqlite:server.sqlite admin user token --id rita --days 30
//! sync-server --db sqlite:server.sqlite admin till revoke --id PARIS-OPERA-CAISSE-1
//! sync-server --log-format json --db postgres://pos@localhost/pos serve --metrics-listen 127.0.0.1:9464
//! sync-server --db sqlite:server.sqlite serve --logistics-inbox /var/spool/pos/asn
//! sync-server --db sqlite:server.sqlite admin user create --name "Logistique" --role logistics
//! sync-server --db sqlite:server.sqlite admin stock minmax import levels.csv
//! ```
//!
//! `serve` stops on SIGTERM or SIGINT: it stops accepting connections, answers the requests in
//! flight (an upload being ingested commits whole), stops the delivery workers (a webhook
//! delivery or NATS round cut short is made again at the next start; nothing is lost), then
//! exits 0.

/// mimalloc: ingest parses, derives and serializes per record on every core, and glibc's
/// allocator took a fifth of an upload's CPU (see BENCHMARKS.md, "Sync server ingest").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod admin_commissions;
mod admin_feed;
mod admin_rules;
mod admin_stock;

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use chrono::{Duration, NaiveDate, Utc};
use clap::{Parser, Subcommand};
use serde_json::{Value, json};
use sync_server::admin::webhooks::WebhookRequest;
use sync_server::config::{DEFAULT_DB, DEFAULT_LISTEN, FileConfig, LogFormat, pick};
use sync_server::feeds::nats::{NatsConfig, NatsPublisher};
use sync_server::feeds::webhooks::{DeliveryTiming, WebhookWorker};
use sync_server::feeds::{Shutdown, SystemClock};
use sync_server::login_throttle::{LoginPolicy, LoginThrottle};
use sync_server::ops::{DEFAULT_TILLS_WAITING_AFTER, Metrics};
use sync_server::server_key::{KeySource, ServerKeys, prepare_webhook_secrets};
use sync_server::store::{LegalEntity, Role, Shop, USER_TOKEN_DAYS, User};
use sync_server::{AppState, ServerConfig, Store, accounting_export, open_store, secrets};

#[derive(Parser)]
#[command(
    name = "sync-server",
    version,
    about = "Head-office sync server of the point of sale"
)]
struct Cli {
    /// Settings file (TOML, see the README); flags and `SYNC_*` variables override it.
    #[arg(long, env = "SYNC_CONFIG", global = true)]
    config: Option<std::path::PathBuf>,
    /// Database: `sqlite:FILE` (embedded default `sqlite:sync-server.sqlite`) or
    /// `postgres://USER@HOST/DB`.
    #[arg(long, env = "SYNC_DB", global = true)]
    db: Option<String>,
    /// Print results as JSON.
    #[arg(long, global = true)]
    json: bool,
    /// Log lines on standard error as `text` (default) or `json` (one object per line, for a
    /// log collector); `RUST_LOG` chooses which (default `info`).
    #[arg(long, env = "SYNC_LOG_FORMAT", global = true, value_name = "text|json")]
    log_format: Option<LogFormat>,
    /// File of the server key sealing webhook secrets (created at first need, mode 0600)
    /// [default: sync-server.key next to the config file, or to the SQLite database]. The key
    /// itself may be given in `SYNC_SECRET_KEY` (64 hex digits) instead.
    #[arg(long, env = "SYNC_SECRET_KEY_FILE", global = true)]
    secret_key_file: Option<std::path::PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP API and deliver the outbox (webhooks, NATS) until Ctrl-C.
    Serve(ServeArgs),
    /// Create and list legal entities, shops, tills and head-office users.
    Admin {
        #[command(subcommand)]
        what: Admin,
    },
    /// Print the OpenAPI document of the HTTP API (as served at /openapi.json).
    Openapi,
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "SYNC_LISTEN")]
    listen: Option<String>,
    /// Publish every event to NATS JetStream at this URL (`nats://HOST:PORT`).
    #[arg(long, env = "SYNC_NATS")]
    nats: Option<String>,
    /// Names of the NATS streams (`<PREFIX>_SALES`...) and subjects (`<prefix>.sales.>`...),
    /// to keep environments sharing a NATS server apart [default: pos].
    #[arg(long, env = "SYNC_NATS_PREFIX")]
    nats_prefix: Option<String>,
    /// Largest request body, in bytes [default: 16 MiB].
    #[arg(long, env = "SYNC_MAX_BODY_BYTES")]
    max_body_bytes: Option<usize>,
    /// Most records accepted in one upload [default: 5000].
    #[arg(long, env = "SYNC_MAX_RECORDS")]
    max_records: Option<usize>,
    /// Failed attempts after which a webhook delivery is dead-lettered [default: 12].
    #[arg(long, env = "SYNC_WEBHOOK_MAX_ATTEMPTS")]
    webhook_max_attempts: Option<u32>,
    /// Seconds before the first webhook retry; doubles with each failure [default: 5].
    #[arg(long, env = "SYNC_WEBHOOK_FIRST_RETRY")]
    webhook_first_retry: Option<u64>,
    /// Longest wait between webhook attempts, in seconds [default: 3600].
    #[arg(long, env = "SYNC_WEBHOOK_MAX_RETRY")]
    webhook_max_retry: Option<u64>,
    /// Seconds a webhook receiver has to answer [default: 10].
    #[arg(long, env = "SYNC_WEBHOOK_TIMEOUT")]
    webhook_timeout: Option<u64>,
    /// PEM file of certificate authorities to trust for https:// webhooks, besides the
    /// system's.
    #[arg(long, env = "SYNC_WEBHOOK_CA")]
    webhook_ca: Option<std::path::PathBuf>,
    /// Seconds a user name or address is locked after its free failed logins; doubles with
    /// each further failure, up to 15 minutes [default: 30].
    #[arg(long, env = "SYNC_LOGIN_LOCKOUT")]
    login_lockout: Option<u64>,
    /// Passwords checked at once, 19 MiB each [default: the cores, 2 to 4].
    #[arg(long, env = "SYNC_LOGIN_CHECKS")]
    login_checks: Option<usize>,
    /// Serve HTTPS with this certificate chain (PEM, the server's certificate first), with
    /// `--tls-key`; without both, plain HTTP (for loopback or behind a TLS-terminating proxy).
    #[arg(long, env = "SYNC_TLS_CERT", value_name = "FILE.pem")]
    tls_cert: Option<std::path::PathBuf>,
    /// The private key of `--tls-cert` (PEM).
    #[arg(long, env = "SYNC_TLS_KEY", value_name = "FILE.pem")]
    tls_key: Option<std::path::PathBuf>,
    /// Serve Prometheus metrics at `/metrics` on this address (plain HTTP; loopback or a
    /// private interface), apart from the API's; not served without it.
    #[arg(long, env = "SYNC_METRICS_LISTEN", value_name = "HOST:PORT")]
    metrics_listen: Option<String>,
    /// Seconds without a word from a till after which the metrics count it as waiting
    /// [default: 3600].
    #[arg(long, env = "SYNC_TILLS_WAITING_AFTER", value_name = "SECONDS")]
    tills_waiting_after: Option<u64>,
    /// Serve the head-office web app under /hq/ from this built folder [default:
    /// ui/head-office/dist when it is built under the working directory].
    #[arg(long, env = "SYNC_WEB_DIR", value_name = "DIR")]
    web_dir: Option<std::path::PathBuf>,
    /// Take advance shipping notices from CSV files dropped in this folder (one server at a
    /// time, every 2 seconds). Header `notice,shop,product,quantity,unit,imeis`, one line per
    /// notice line; `unit` (units or grams) and `imeis` (`|`-separated, one per unit) may be
    /// empty. Only `*.csv` names are read (write `x.csv.part`, then rename). A file is applied
    /// whole or not at all: moved to DIR/done/ or DIR/failed/ with `<name>.report.txt` naming
    /// each bad line; a file applied before a crash is recognized by its SHA-256.
    #[arg(long, env = "SYNC_LOGISTICS_INBOX", value_name = "DIR")]
    logistics_inbox: Option<std::path::PathBuf>,
}

#[derive(Subcommand)]
enum Admin {
    /// Legal entities (the companies owning shops).
    Entity {
        #[command(subcommand)]
        action: EntityAction,
    },
    /// Regions: groups of shops, each overseen by regional managers.
    Region {
        #[command(subcommand)]
        action: RegionAction,
    },
    /// Shops.
    Shop {
        #[command(subcommand)]
        action: ShopAction,
    },
    /// Tills: creating one prints its one-time enrollment code.
    Till {
        #[command(subcommand)]
        action: TillAction,
    },
    /// Head-office users: creating one prints their API token.
    User {
        #[command(subcommand)]
        action: UserAction,
    },
    /// Webhooks: register, list, and see or retry dead letters.
    Webhook {
        #[command(subcommand)]
        action: WebhookAction,
    },
    /// Accounting exports of the daily entries posted from the tills' day closures.
    Export {
        #[command(subcommand)]
        format: ExportFormat,
    },
    #[command(flatten)]
    Feed(admin_feed::FeedAdmin),
    #[command(flatten)]
    Rules(admin_rules::RulesAdmin),
    /// Seller commissions: the plan's rates, and a month's report or payroll file.
    Commission {
        #[command(subcommand)]
        action: admin_commissions::CommissionAction,
    },
    /// Stock: replenishment levels (min/max per shop and product).
    Stock {
        #[command(subcommand)]
        action: admin_stock::StockAction,
    },
}

#[derive(Subcommand)]
enum ExportFormat {
    /// Writes `<SIREN>FEC<closing date>.txt` for the fiscal year starting in YEAR.
    Fec {
        #[arg(long)]
        entity: String,
        /// The year the fiscal year starts in.
        #[arg(long)]
        year: i32,
        /// Directory to write the file in.
        #[arg(long)]
        out: std::path::PathBuf,
    },
    /// Writes the entries of the days FROM to TO (inclusive) as an hledger journal.
    Hledger {
        #[arg(long)]
        entity: String,
        #[arg(long)]
        from: NaiveDate,
        #[arg(long)]
        to: NaiveDate,
        #[arg(long)]
        out: std::path::PathBuf,
    },
}

#[derive(Subcommand)]
enum WebhookAction {
    /// Registers a URL to which `serve` POSTs every event (or those of the given types),
    /// signed with the secret (see the README for verifying the signature).
    Add {
        /// Defaults to a slug of the URL's host.
        #[arg(long)]
        id: Option<String>,
        /// https:// URL receiving the events (http:// only to this machine: 127.0.0.1, ::1,
        /// localhost).
        #[arg(long)]
        url: String,
        /// Shared secret for the HMAC-SHA256 signature (at least 16 characters).
        #[arg(long)]
        secret: String,
        /// Comma-separated event type prefixes, e.g. `pos.record.ticket,pos.crm`; all if absent.
        #[arg(long, value_delimiter = ',')]
        types: Vec<String>,
        /// Also deliver the events already in the outbox (default: only new ones).
        #[arg(long)]
        from_start: bool,
    },
    /// Removes a webhook with its queue and dead letters (the events stay in the outbox).
    Remove {
        #[arg(long)]
        id: String,
    },
    /// Gives a webhook a new signing secret, made by the server and printed once.
    Rotate {
        #[arg(long)]
        id: String,
    },
    /// Webhooks with their queued and dead-lettered counts.
    List,
    /// Events parked after their last allowed attempt.
    DeadLetters,
    /// Queues dead letters again (all, one webhook's, or one event of one webhook).
    Retry {
        #[arg(long)]
        webhook: Option<String>,
        /// The event's cursor, as `dead-letters` lists it (needs --webhook).
        #[arg(long, requires = "webhook")]
        cursor: Option<i64>,
    },
}

#[derive(Subcommand)]
enum EntityAction {
    Create {
        /// Defaults to a slug of the name.
        #[arg(long)]
        id: Option<String>,
        #[arg(long)]
        name: String,
        /// 9 digits.
        #[arg(long)]
        siren: String,
        /// Month (1-12) the fiscal year starts.
        #[arg(long, default_value_t = 1)]
        fiscal_year_start: u32,
    },
    List,
}

#[derive(Subcommand)]
enum RegionAction {
    Create {
        /// Defaults to a slug of the name.
        #[arg(long)]
        id: Option<String>,
        #[arg(long)]
        name: String,
    },
    List,
}

#[derive(Subcommand)]
enum ShopAction {
    Create {
        #[arg(long)]
        id: Option<String>,
        #[arg(long)]
        entity: String,
        #[arg(long)]
        name: String,
        /// VAT territory: metropole, corsica, guadeloupe, martinique, reunion, guyane, mayotte.
        #[arg(long, default_value = "metropole")]
        territory: String,
        /// IANA time zone.
        #[arg(long, default_value = "Europe/Paris")]
        timezone: String,
        #[arg(long, default_value = "")]
        address: String,
        /// The region it belongs to.
        #[arg(long)]
        region: Option<String>,
    },
    /// Puts a shop in a region (`--region REGION`) or in none (`--no-region`).
    Update {
        #[arg(long)]
        id: String,
        #[arg(
            long,
            required_unless_present = "no_region",
            conflicts_with = "no_region"
        )]
        region: Option<String>,
        #[arg(long)]
        no_region: bool,
    },
    List,
}

#[derive(Subcommand)]
enum TillAction {
    Create {
        /// Defaults to `SHOP-<slug of the name>`. Initialize the till's ledger with this id.
        #[arg(long)]
        id: Option<String>,
        #[arg(long)]
        shop: String,
        #[arg(long)]
        name: String,
        /// Hours the enrollment code stays valid.
        #[arg(long, default_value_t = 72)]
        expires_hours: i64,
    },
    /// A new one-time code for an existing till (it lost its token, or it was revoked); it
    /// must enroll with the same key. Its current token stops working at once.
    Code {
        #[arg(long)]
        id: String,
        #[arg(long, default_value_t = 72)]
        expires_hours: i64,
    },
    /// Revokes a till (stolen, retired): its token and any pending code stop working at once;
    /// its records stay. `code` lets it enroll again.
    Revoke {
        #[arg(long)]
        id: String,
    },
    List,
}

#[derive(Subcommand)]
enum UserAction {
    Create {
        #[arg(long)]
        id: Option<String>,
        #[arg(long)]
        name: String,
        /// admin, regional_manager, shop_manager, accountant or logistics.
        #[arg(long)]
        role: String,
        /// The shop of a shop manager.
        #[arg(long)]
        shop: Option<String>,
        /// The region of a regional manager.
        #[arg(long)]
        region: Option<String>,
        /// Days the API token printed works.
        #[arg(long, default_value_t = USER_TOKEN_DAYS)]
        token_days: i64,
    },
    /// A new API token for a user (printed once), working for `--days` days; the user's other
    /// tokens keep working until they expire or are revoked.
    Token {
        #[arg(long)]
        id: String,
        #[arg(long, default_value_t = USER_TOKEN_DAYS)]
        days: i64,
    },
    /// A user's API tokens: when each was made and when it expires.
    Tokens {
        #[arg(long)]
        id: String,
    },
    /// Ends every API token and login session of a user at once (their password stays).
    Revoke {
        #[arg(long)]
        id: String,
    },
    /// Binds a regional manager to a region (`--region REGION`: their sessions and API tokens
    /// end, as for any scope change) or to none (`--no-region`: they read nothing).
    Region {
        #[arg(long)]
        id: String,
        #[arg(
            long,
            required_unless_present = "no_region",
            conflicts_with = "no_region"
        )]
        region: Option<String>,
        #[arg(long)]
        no_region: bool,
    },
    /// Sets a user's login password, read from the first line of standard input. Their
    /// sessions end; when it replaces a password, their API tokens end too.
    Password {
        #[arg(long)]
        id: String,
    },
    /// Gives a user another role and scope (`--shop` for a shop manager, `--region` for a
    /// regional manager); their sessions and API tokens end. Never the last active admin.
    Role {
        #[arg(long)]
        id: String,
        /// admin, regional_manager, shop_manager or accountant.
        #[arg(long)]
        role: String,
        #[arg(long)]
        shop: Option<String>,
        #[arg(long)]
        region: Option<String>,
    },
    /// Disables a user: their sessions and API tokens end and they cannot log in. Never the
    /// last active admin.
    Disable {
        #[arg(long)]
        id: String,
    },
    /// Enables a disabled user again: they log in with their password.
    Enable {
        #[arg(long)]
        id: String,
    },
    List,
}

/// A role named on the command line.
fn parse_role(role: &str) -> Result<Role> {
    Role::parse(role).with_context(|| {
        format!(
            "`{role}` is not a role: admin, regional_manager, shop_manager, accountant or logistics"
        )
    })
}

/// ` (shop S)`, ` (region R)` or nothing: the scope of a user, for the command's text.
fn scope_text(user: &User) -> String {
    match (&user.shop_id, &user.region_id) {
        (Some(shop), _) => format!(" (shop {shop})"),
        (None, Some(region)) => format!(" (region {region})"),
        (None, None) => String::new(),
    }
}

/// When a user's API token made now for `days` days expires (1 to 3650 days).
fn token_expiry(days: i64) -> Result<chrono::DateTime<Utc>> {
    if !(1..=3650).contains(&days) {
        bail!("an API token works 1 to 3650 days: give --days (or --token-days) in that range");
    }
    Ok(Utc::now() + Duration::days(days))
}

/// Prints an answer. A reader that went away (`| head`) is not an error: the command's work
/// is done and committed by then.
fn print(json_output: bool, value: Value, text: String) {
    use std::io::Write;
    let out = if json_output {
        serde_json::to_string_pretty(&value).unwrap_or_default()
    } else {
        text
    };
    let _ = writeln!(std::io::stdout(), "{out}");
}

async fn admin(
    store: Arc<dyn Store>,
    what: Admin,
    json_output: bool,
    key_source: &KeySource,
) -> Result<()> {
    let cli_admin = sync_server::admin::Admin::command_line(store.as_ref());
    match what {
        Admin::Feed(command) => {
            let (value, text) = admin_feed::run(store, command).await?;
            print(json_output, value, text);
        }
        Admin::Rules(command) => {
            let (value, text) = admin_rules::run(store, command).await?;
            print(json_output, value, text);
        }
        Admin::Commission { action } => {
            let (value, text) = admin_commissions::run(store, action).await?;
            print(json_output, value, text);
        }
        Admin::Stock { action } => {
            let (value, text) = admin_stock::run(store, action).await?;
            print(json_output, value, text);
        }
        Admin::Entity { action } => match action {
            EntityAction::Create {
                id,
                name,
                siren,
                fiscal_year_start,
            } => {
                let entity = LegalEntity {
                    id: id.unwrap_or_default(),
                    name,
                    siren,
                    fiscal_year_start_month: fiscal_year_start,
                };
                let entity = cli_admin.create_entity(entity).await?;
                let text = format!("legal entity {} created", entity.id);
                print(json_output, serde_json::to_value(&entity)?, text);
            }
            EntityAction::List => {
                let list = store.entities().await?;
                let text = list
                    .iter()
                    .map(|e| format!("{}\t{}\tSIREN {}", e.id, e.name, e.siren))
                    .collect::<Vec<_>>()
                    .join("\n");
                print(json_output, serde_json::to_value(&list)?, text);
            }
        },
        Admin::Region { action } => match action {
            RegionAction::Create { id, name } => {
                let region = cli_admin.create_region(id, &name).await?;
                let text = format!("region {} created", region.id);
                print(json_output, serde_json::to_value(&region)?, text);
            }
            RegionAction::List => {
                let list = store.regions().await?;
                let text = list
                    .iter()
                    .map(|r| format!("{}\t{}", r.id, r.name))
                    .collect::<Vec<_>>()
                    .join("\n");
                print(json_output, serde_json::to_value(&list)?, text);
            }
        },
        Admin::Shop { action } => match action {
            ShopAction::Update {
                id,
                region,
                no_region: _,
            } => {
                cli_admin.set_shop_region(&id, region.as_deref()).await?;
                let text = match &region {
                    Some(region) => format!("shop {id} is in region {region}"),
                    None => format!("shop {id} is in no region"),
                };
                print(json_output, json!({"id": id, "region_id": region}), text);
            }
            ShopAction::Create {
                id,
                entity,
                name,
                territory,
                timezone,
                address,
                region,
            } => {
                let shop = Shop {
                    id: id.unwrap_or_default(),
                    entity_id: entity,
                    name,
                    territory,
                    timezone,
                    address,
                    region_id: region,
                };
                let shop = cli_admin.create_shop(shop).await?;
                let text = format!("shop {} created", shop.id);
                print(json_output, serde_json::to_value(&shop)?, text);
            }
            ShopAction::List => {
                let list = store.shops().await?;
                let text = list
                    .iter()
                    .map(|s| {
                        format!(
                            "{}\t{}\t{}\t{}\t{}",
                            s.id,
                            s.name,
                            s.territory,
                            s.timezone,
                            s.region_id.as_deref().unwrap_or("-")
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n");
                print(json_output, serde_json::to_value(&list)?, text);
            }
        },
        Admin::Till { action } => match action {
            TillAction::Create {
                id,
                shop,
                name,
                expires_hours,
            } => {
                let till = cli_admin
                    .create_till(&shop, &name, id, expires_hours)
                    .await?;
                let text = format!(
                    "till {} created in shop {}\nenrollment code: {} (one use, expires {})",
                    till.till_id, till.shop_id, till.enrollment_code, till.expires_at
                );
                print(json_output, serde_json::to_value(&till)?, text);
            }
            TillAction::Code { id, expires_hours } => {
                let till = cli_admin.new_till_code(&id, expires_hours).await?;
                let text = format!(
                    "till {id}: new enrollment code {} (one use, expires {})",
                    till.enrollment_code, till.expires_at
                );
                let value = json!({"till_id": id, "enrollment_code": till.enrollment_code, "expires_at": till.expires_at});
                print(json_output, value, text);
            }
            TillAction::Revoke { id } => {
                cli_admin.revoke_till(&id).await?;
                let text = format!(
                    "till {id} revoked: its token no longer works (its records stay; `admin till code --id {id}` lets it enroll again)"
                );
                print(json_output, json!({"till_id": id, "revoked": true}), text);
            }
            TillAction::List => {
                let list = store.tills().await?;
                let text = list
                    .iter()
                    .map(|t| {
                        format!(
                            "{}\t{}\t{}\t{}",
                            t.id,
                            t.shop_id,
                            t.name,
                            if t.revoked_at.is_some() {
                                "revoked"
                            } else if t.enrolled {
                                "enrolled"
                            } else {
                                "awaiting enrollment"
                            }
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n");
                print(json_output, serde_json::to_value(&list)?, text);
            }
        },
        Admin::User { action } => match action {
            UserAction::Create {
                id,
                name,
                role,
                shop,
                region,
                token_days,
            } => {
                let role = parse_role(&role)?;
                let user = User {
                    id: id.unwrap_or_default(),
                    name,
                    role,
                    shop_id: shop,
                    region_id: region,
                };
                let created = cli_admin.create_user(user, token_days).await?;
                let text = format!(
                    "user {} ({}) created\nAPI token (shown once, expires {}): {}",
                    created.user.id,
                    role.name(),
                    created.token_expires_at,
                    created.token
                );
                let mut value = serde_json::to_value(&created.user)?;
                value["token"] = json!(created.token);
                value["token_expires_at"] = json!(created.token_expires_at);
                print(json_output, value, text);
            }
            UserAction::Token { id, days } => {
                let token = secrets::new_token()?;
                let expires = token_expiry(days)?;
                store
                    .create_user_token(&secrets::token_hash(&token), &id, Utc::now(), expires)
                    .await?;
                let expires_at = pos_domain::record::timestamp::format(&expires);
                let text =
                    format!("user {id}: API token (shown once, expires {expires_at}): {token}");
                let value = json!({"user": id, "token": token, "expires_at": expires_at});
                print(json_output, value, text);
            }
            UserAction::Tokens { id } => {
                let list = store.user_tokens(&id).await?;
                let text = list
                    .iter()
                    .map(|t| format!("made {}\texpires {}", t.created_at, t.expires_at))
                    .collect::<Vec<_>>()
                    .join("\n");
                print(json_output, serde_json::to_value(&list)?, text);
            }
            UserAction::Revoke { id } => {
                let ended = cli_admin.revoke_user(&id).await?;
                let text = format!("user {id}: {ended} API token(s) and session(s) ended");
                print(json_output, json!({"user": id, "ended": ended}), text);
            }
            UserAction::Region {
                id,
                region,
                no_region: _,
            } => {
                let user = store
                    .users()
                    .await?
                    .into_iter()
                    .map(|a| a.user)
                    .find(|u| u.id == id);
                if let Some(user) = &user
                    && user.role != Role::RegionalManager
                {
                    bail!(
                        "user {id} is a {}: only regional managers are bound to a region",
                        user.role.name()
                    );
                }
                let text = match &region {
                    // A new region is a scope change: checked, journaled, and the user's
                    // sessions and tokens end, as from the app.
                    Some(region) => {
                        cli_admin
                            .set_user_role(&id, Role::RegionalManager, None, Some(region.clone()))
                            .await?;
                        format!("user {id} oversees region {region}")
                    }
                    // Bound to none, they read nothing until bound again.
                    None => {
                        store.set_user_region(&id, None).await?;
                        format!("user {id} is bound to no region")
                    }
                };
                print(json_output, json!({"id": id, "region_id": region}), text);
            }
            UserAction::Password { id } => {
                let mut line = String::new();
                std::io::stdin()
                    .read_line(&mut line)
                    .context("reading the password from standard input")?;
                let password = line.trim_end_matches(['\r', '\n']);
                if password.chars().count() < 12 {
                    bail!("a password has at least 12 characters");
                }
                let hash = secrets::hash_password(password)?;
                store.set_password(&id, &hash).await?;
                print(
                    json_output,
                    json!({"user": id, "password_set": true}),
                    format!("password of {id} set"),
                );
            }
            UserAction::Role {
                id,
                role,
                shop,
                region,
            } => {
                let changed = cli_admin
                    .set_user_role(&id, parse_role(&role)?, shop, region)
                    .await?;
                let text = format!(
                    "user {id} is now {}{}; {} session(s) and API token(s) ended",
                    role,
                    scope_text(&changed.user.user),
                    changed.credentials_ended
                );
                print(json_output, serde_json::to_value(&changed)?, text);
            }
            UserAction::Disable { id } => {
                let changed = cli_admin.set_user_disabled(&id, true).await?;
                let text = format!(
                    "user {id} disabled; {} session(s) and API token(s) ended",
                    changed.credentials_ended
                );
                print(json_output, serde_json::to_value(&changed)?, text);
            }
            UserAction::Enable { id } => {
                let changed = cli_admin.set_user_disabled(&id, false).await?;
                let text = format!("user {id} enabled: they log in with their password");
                print(json_output, serde_json::to_value(&changed)?, text);
            }
            UserAction::List => {
                let list = store.users().await?;
                let text = list
                    .iter()
                    .map(|a| {
                        let u = &a.user;
                        let state = if a.disabled_at.is_some() {
                            "\tdisabled"
                        } else {
                            ""
                        };
                        format!(
                            "{}\t{}\t{}{}{state}",
                            u.id,
                            u.name,
                            u.role.name(),
                            scope_text(u)
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n");
                print(json_output, serde_json::to_value(&list)?, text);
            }
        },
        Admin::Webhook { action } => {
            webhook(store.as_ref(), action, json_output, key_source).await?
        }
        Admin::Export { format } => match format {
            ExportFormat::Fec { entity, year, out } => {
                let (name, bytes) =
                    accounting_export::fec_export(store.as_ref(), &entity, year).await?;
                let path = out.join(&name);
                std::fs::write(&path, &bytes)
                    .with_context(|| format!("writing {}", path.display()))?;
                let text = format!("{} written ({} bytes)", path.display(), bytes.len());
                let value = json!({"file": path, "name": name, "bytes": bytes.len()});
                print(json_output, value, text);
            }
            ExportFormat::Hledger {
                entity,
                from,
                to,
                out,
            } => {
                let journal =
                    accounting_export::hledger_export(store.as_ref(), &entity, from, to).await?;
                std::fs::write(&out, &journal)
                    .with_context(|| format!("writing {}", out.display()))?;
                let text = format!("{} written", out.display());
                print(json_output, json!({"file": out}), text);
            }
        },
    }
    Ok(())
}

async fn webhook(
    store: &dyn Store,
    action: WebhookAction,
    json_output: bool,
    key_source: &KeySource,
) -> Result<()> {
    match action {
        WebhookAction::Add {
            id,
            url,
            secret,
            types,
            from_start,
        } => {
            // The key must open the secrets already sealed: a wrong key never seals new ones.
            prepare_webhook_secrets(store, key_source).await?;
            let key = key_source.load_or_create()?;
            let request = WebhookRequest {
                id,
                url,
                types,
                from_start,
            };
            let hook = sync_server::admin::Admin::command_line(store)
                .add_webhook(&key, request, Some(secret))
                .await?;
            let text = format!(
                "webhook {} registered: {} ({})",
                hook.id,
                hook.url,
                if hook.types.is_empty() {
                    "every event".to_string()
                } else {
                    hook.types.join(", ")
                }
            );
            let value = json!({"id": hook.id, "url": hook.url, "types": hook.types, "from_start": from_start});
            print(json_output, value, text);
        }
        WebhookAction::Remove { id } => {
            sync_server::admin::Admin::command_line(store)
                .remove_webhook(&id)
                .await?;
            print(
                json_output,
                json!({"id": id, "removed": true}),
                format!("webhook {id} removed with its queue and dead letters"),
            );
        }
        WebhookAction::Rotate { id } => {
            prepare_webhook_secrets(store, key_source).await?;
            let key = key_source.load_or_create()?;
            let hook = sync_server::admin::Admin::command_line(store)
                .rotate_webhook_secret(&key, &id)
                .await?;
            let text = format!(
                "webhook {id}: new signing secret (shown once; deliveries from now on are signed with it): {}",
                hook.secret
            );
            print(json_output, serde_json::to_value(&hook)?, text);
        }
        WebhookAction::List => {
            let list = store.webhooks().await?;
            let text = list
                .iter()
                .map(|w| {
                    format!(
                        "{}\t{}\t{}\tqueued {}\tdead {}",
                        w.id,
                        w.url,
                        if w.types.is_empty() {
                            "*".to_string()
                        } else {
                            w.types.join(",")
                        },
                        w.pending,
                        w.dead
                    )
                })
                .collect::<Vec<_>>()
                .join("\n");
            print(json_output, serde_json::to_value(&list)?, text);
        }
        WebhookAction::DeadLetters => {
            let list = sync_server::store::all_dead_letters(store).await?;
            let text = list
                .iter()
                .map(|d| {
                    format!(
                        "{}\tcursor {}\t{}\t{}\t{} attempts\t{}\t{}",
                        d.webhook_id,
                        d.cursor,
                        d.event_type,
                        d.event_id,
                        d.attempts,
                        d.dead_at,
                        d.last_error
                    )
                })
                .collect::<Vec<_>>()
                .join("\n");
            print(json_output, serde_json::to_value(&list)?, text);
        }
        WebhookAction::Retry { webhook, cursor } => {
            let n = store
                .retry_dead_letters(webhook.as_deref(), cursor, Utc::now())
                .await?;
            print(
                json_output,
                json!({"retried": n}),
                format!("{n} dead letter(s) queued again"),
            );
        }
    }
    Ok(())
}

async fn run(cli: Cli) -> Result<()> {
    if let Command::Openapi = cli.command {
        print!("{}", sync_server::openapi::pretty_json());
        return Ok(());
    }
    let file = match &cli.config {
        Some(path) => FileConfig::load(path)?,
        None => FileConfig::default(),
    };
    start_logging(pick(cli.log_format, file.log_format, LogFormat::Text));
    let db = pick(cli.db, file.db.clone(), DEFAULT_DB.to_string());
    let key_source = KeySource::pick(
        std::env::var("SYNC_SECRET_KEY")
            .ok()
            .filter(|k| !k.is_empty()),
        cli.secret_key_file.or(file.secret_key_file.clone()),
        cli.config.as_deref(),
        &db,
    );
    // A new SQLite database is created owner-only before SQLite opens it.
    sync_server::server_key::protect_sqlite_files(&db)
        .with_context(|| format!("creating the database {db}"))?;
    let store = open_store(&db)
        .await
        .with_context(|| format!("opening the database {db}"))?;
    match cli.command {
        Command::Serve(args) => serve(store, args, file, key_source).await?,
        Command::Admin { what } => admin(store, what, cli.json, &key_source).await?,
        Command::Openapi => {}
    }
    Ok(())
}

/// The login throttle's limits: the defaults, with the lockout and the checks at once given.
fn login_policy(args: &ServeArgs) -> LoginPolicy {
    let defaults = LoginPolicy::default();
    LoginPolicy {
        first_lockout: args
            .login_lockout
            .map_or(defaults.first_lockout, std::time::Duration::from_secs),
        hashing_permits: args.login_checks.unwrap_or(defaults.hashing_permits).max(1),
        ..defaults
    }
}

async fn serve(
    store: Arc<dyn Store>,
    args: ServeArgs,
    file: FileConfig,
    key_source: KeySource,
) -> Result<()> {
    // First of all: a second server on one SQLite file stops here, having changed nothing
    // (PostgreSQL takes several; their workers claim their work).
    store.begin_serving().await?;
    tracing::info!(
        replica = sync_server::feeds::replica_id(),
        "this server's name in work claims and leads"
    );
    // Before anything listens: a wrong key stops here, and secrets left in clear by earlier
    // versions are sealed.
    let (key, _) = prepare_webhook_secrets(store.as_ref(), &key_source).await?;
    let keys = Arc::new(ServerKeys::from_source(key_source, key));
    let login = login_policy(&args);
    let listen = pick(args.listen, file.listen, DEFAULT_LISTEN.to_string());
    // Before anything listens, so a wrong file stops the start with its name.
    let tls = match (
        args.tls_cert.or(file.tls_cert),
        args.tls_key.or(file.tls_key),
    ) {
        (Some(cert), Some(key)) => Some(sync_server::tls::server_config(&cert, &key)?),
        (None, None) => None,
        _ => bail!(
            "HTTPS needs both the certificate and its key: give --tls-cert and --tls-key (or tls_cert and tls_key in the config file)"
        ),
    };
    let defaults = ServerConfig::default();
    let config = ServerConfig {
        max_body_bytes: pick(
            args.max_body_bytes,
            file.max_body_bytes,
            defaults.max_body_bytes,
        ),
        max_records_per_upload: pick(
            args.max_records,
            file.max_records,
            defaults.max_records_per_upload,
        ),
        login: Arc::new(LoginThrottle::new(login)),
        metrics: Arc::new(Metrics::new(
            args.tills_waiting_after
                .or(file.tills_waiting_after_seconds)
                .map_or(DEFAULT_TILLS_WAITING_AFTER, std::time::Duration::from_secs),
        )),
        web: sync_server::web_app::WebSettings {
            dir: args
                .web_dir
                .or(file.web_dir)
                .or_else(sync_server::web_app::default_dir),
            secure_cookies: tls.is_some(),
        },
        live: Arc::default(),
        till_lookups: defaults.till_lookups.clone(),
        keys: keys.clone(),
    };
    let metrics_listen = args.metrics_listen.or(file.metrics_listen);
    let hooks = file.webhooks;
    let timing = DeliveryTiming::default();
    let seconds = std::time::Duration::from_secs;
    let timing = DeliveryTiming {
        max_attempts: pick(
            args.webhook_max_attempts,
            hooks.max_attempts,
            timing.max_attempts,
        )
        .max(1),
        first_retry: args
            .webhook_first_retry
            .or(hooks.first_retry_seconds)
            .map_or(timing.first_retry, seconds),
        max_retry: args
            .webhook_max_retry
            .or(hooks.max_retry_seconds)
            .map_or(timing.max_retry, seconds),
        request_timeout: args
            .webhook_timeout
            .or(hooks.timeout_seconds)
            .map_or(timing.request_timeout, seconds),
        ..timing
    };
    let roots = match args.webhook_ca.or(hooks.ca_file) {
        Some(path) => WebhookWorker::read_roots(&path).map_err(anyhow::Error::msg)?,
        None => Vec::new(),
    };
    let nats = args.nats.or(file.nats);
    let nats_prefix = args.nats_prefix.or(file.nats_prefix);

    // Signal handlers first: an interrupt arriving while the server starts stops it cleanly
    // instead of killing it.
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt()).context("handling SIGINT")?;
    let mut terminate = signal(SignalKind::terminate()).context("handling SIGTERM")?;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let webhooks =
        WebhookWorker::with_extra_roots(store.clone(), Arc::new(SystemClock), timing, keys, roots)
            .map_err(anyhow::Error::msg)?;
    let mut workers = vec![
        tokio::spawn(webhooks.run(stopped.clone())),
        tokio::spawn(sync_server::archives_api::recheck_periodically(
            store.clone(),
            sync_server::archives_api::RECHECK_EVERY,
            stopped.clone(),
        )),
    ];
    if let Some(dir) = args.logistics_inbox.or(file.logistics_inbox) {
        let inbox = sync_server::logistics_inbox::Inbox::open(&dir)
            .with_context(|| format!("the logistics inbox {}", dir.display()))?;
        tracing::info!(dir = %dir.display(), "taking shipping notices from the logistics inbox");
        workers.push(tokio::spawn(inbox.run(store.clone(), stopped.clone())));
    }
    if let Some(url) = &nats {
        let mut nats_config = NatsConfig::new(url);
        if let Some(prefix) = nats_prefix {
            nats_config = nats_config
                .with_prefix(&prefix)
                .map_err(anyhow::Error::msg)?;
        }
        let publisher = NatsPublisher::connect(store.clone(), nats_config)
            .await
            .map_err(|e| anyhow::anyhow!("connecting to NATS at {url}: {e}"))?;
        workers.push(tokio::spawn(publisher.run(stopped.clone())));
    }
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .with_context(|| format!("listening on {listen}"))?;
    let metrics_listener = match &metrics_listen {
        Some(address) => Some(
            tokio::net::TcpListener::bind(address)
                .await
                .with_context(|| format!("listening for metrics on {address}"))?,
        ),
        None => None,
    };
    tracing::info!(
        address = %listener.local_addr()?,
        scheme = if tls.is_some() { "https" } else { "http" },
        backend = store.backend(),
        max_records = config.max_records_per_upload,
        nats = nats.as_deref().unwrap_or("-"),
        web_app = config.web.dir.as_ref().map_or("-".into(), |d| d.display().to_string()),
        "serving"
    );
    let state = AppState { store, config };
    tokio::spawn(async move {
        let signal = tokio::select! {
            _ = interrupt.recv() => "SIGINT",
            _ = terminate.recv() => "SIGTERM",
        };
        tracing::info!(
            signal,
            "stopping: no new connections; answering the requests in flight"
        );
        let _ = stop.send(true);
    });
    let metrics_server = match metrics_listener {
        Some(listener) => {
            tracing::info!(address = %listener.local_addr()?, "serving metrics");
            let shutdown = until_stopped(stopped.clone());
            Some(tokio::spawn(sync_server::ops::serve_metrics(
                listener,
                state.clone(),
                shutdown,
            )))
        }
        None => None,
    };
    let shutdown = until_stopped(stopped.clone());
    match tls {
        Some(tls) => sync_server::tls::serve(listener, tls, state, shutdown).await?,
        None => sync_server::serve(listener, state, shutdown).await?,
    }
    if let Some(server) = metrics_server {
        server.await.context("the metrics server failed")??;
    }
    for worker in workers {
        worker.await.context("a delivery worker failed")?;
    }
    tracing::info!("stopped");
    Ok(())
}

/// Completes when `serve` is told to stop (the servers' graceful shutdown).
async fn until_stopped(mut stopped: Shutdown) {
    sync_server::feeds::stopped(&mut stopped).await;
}

/// Writes log lines to standard error in `format`, filtered by `RUST_LOG` (default `info`).
fn start_logging(format: LogFormat) {
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    // A log line that cannot be written (standard error closed by whoever started the
    // server) is dropped: by default the subscriber reports it with `eprint!`, which panics.
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .log_internal_errors(false);
    match format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs.json().flatten_event(true).init(),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    sync_server::allocator::keep_freed_memory_a_while();
    // Logging starts in `run`, once the config file has said which format.
    let cli = Cli::parse();
    let json_output = cli.json;
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if json_output {
                let body = json!({"code": "failed", "message": format!("{e:#}")});
                eprintln!("{body}");
            } else {
                eprintln!("error: {e:#}");
            }
            ExitCode::FAILURE
        }
    }
}
