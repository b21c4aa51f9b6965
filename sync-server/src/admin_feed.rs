//! `sync-server admin` commands for what tills download and for web orders: catalog import,
//! per-shop prices, staff, web shops, demo web orders and the removal of a broken one. Each
//! write commits its changes-feed entries (and, for orders, outbox events) in one transaction.

use std::sync::Arc;

use anyhow::{Context, Result, bail};
use chrono::Utc;
use clap::Subcommand;
use pos_domain::Money;
use pos_domain::web_order::{NewOrderLine, NewWebOrder, PaymentState, WebOrder};
use serde_json::{Value, json};

use sync_server::distribution::{self, FileFormat};
use sync_server::store::{Placed, Placement, Store};
use sync_server::{secrets, web_orders};

/// The admin commands of this module (flattened into `sync-server admin`).
#[derive(Subcommand, Debug)]
pub enum FeedAdmin {
    /// The catalog every till receives (products with barcodes and base prices).
    Catalog {
        #[command(subcommand)]
        action: CatalogAction,
    },
    /// Per-shop prices, over the base price.
    Price {
        #[command(subcommand)]
        action: PriceAction,
    },
    /// Shop settings the tills print and use (address, SIRET, VAT number, fiscal year start).
    Settings {
        #[command(subcommand)]
        action: SettingsAction,
    },
    /// Staff who may log in at a shop's tills (PINs read from standard input, kept as Argon2
    /// hashes).
    Staff {
        #[command(subcommand)]
        action: StaffAction,
    },
    /// Web shops: adding one prints its API key for `POST /api/v1/web-orders`.
    Webshop {
        #[command(subcommand)]
        action: WebshopAction,
    },
    /// Web orders (click & collect).
    WebOrder {
        #[command(subcommand)]
        action: WebOrderAction,
    },
    /// Customers the tills made (personal data).
    Customer {
        #[command(subcommand)]
        action: CustomerAction,
    },
}

#[derive(Subcommand, Debug)]
pub enum CustomerAction {
    /// Erases a customer's contact details at head office, at the shops' tills (at their next
    /// sync) and in the customer events not yet consumed; their purchases stay, by id.
    Erase { id: String },
}

#[derive(Subcommand, Debug)]
pub enum CatalogAction {
    /// Imports products (insert or replace; unchanged products keep their version), from the
    /// till's CSV format or a JSON array; a bad row refuses the whole file.
    Import {
        file: std::path::PathBuf,
        /// csv or json (default: from the extension).
        #[arg(long)]
        format: Option<String>,
    },
    /// Removes a product from every till's catalog (its past sales are untouched).
    Remove {
        #[arg(long)]
        product: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum PriceAction {
    /// Sets a product's price in a shop.
    Set {
        #[arg(long)]
        shop: String,
        #[arg(long)]
        product: String,
        /// Including VAT, with a dot: `19.90`.
        #[arg(long)]
        price: Money,
    },
    /// Removes a shop's price: the base price applies again.
    Remove {
        #[arg(long)]
        shop: String,
        #[arg(long)]
        product: String,
    },
    /// Imports a shop's prices from CSV `product_id,price` (an empty price removes it).
    Import {
        #[arg(long)]
        shop: String,
        file: std::path::PathBuf,
    },
}

#[derive(Subcommand, Debug)]
pub enum SettingsAction {
    /// Sets the settings given; the others keep their value.
    Set {
        #[arg(long)]
        shop: String,
        #[arg(long)]
        address: Option<String>,
        /// 14 digits.
        #[arg(long)]
        siret: Option<String>,
        #[arg(long)]
        vat_number: Option<String>,
        /// 1 to 12.
        #[arg(long)]
        fiscal_year_start_month: Option<u32>,
    },
}

#[derive(Subcommand, Debug)]
pub enum StaffAction {
    /// Adds (or replaces) a staff member of a shop.
    Add {
        #[arg(long)]
        shop: String,
        #[arg(long)]
        name: String,
        /// cashier or manager.
        #[arg(long)]
        role: String,
        /// Refused: a PIN on the command line is readable by every user of the machine (`ps`)
        /// and stays in the shell history. The PIN is read from the first line of standard
        /// input instead (4 to 8 digits; only its Argon2 hash is stored and sent to tills).
        #[arg(long, hide = true)]
        pin: Option<String>,
        /// Defaults to a slug of the name.
        #[arg(long)]
        id: Option<String>,
    },
    /// Removes a staff member from a shop: the tills deactivate them.
    Remove {
        #[arg(long)]
        shop: String,
        #[arg(long)]
        id: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum WebshopAction {
    Add {
        #[arg(long)]
        name: String,
        #[arg(long)]
        id: Option<String>,
    },
    /// Revokes the web shop's API key at once (its orders stay); `key` gives it a new one.
    Revoke {
        #[arg(long)]
        id: String,
    },
    /// Gives the web shop a new API key (printed once); the old one stops working.
    Key {
        #[arg(long)]
        id: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum WebOrderAction {
    /// Places a web order (for demos), as the web shop would.
    Create {
        /// The pickup shop.
        #[arg(long)]
        shop: String,
        /// `PRODUCT_ID|LABEL|QUANTITY|UNIT_PRICE[|VAT_CODE]`, once per line.
        #[arg(long = "line", required = true)]
        lines: Vec<String>,
        /// `paid-online` or `pay-in-shop`.
        #[arg(long, default_value = "paid-online")]
        payment: String,
        #[arg(long)]
        customer: Option<String>,
        #[arg(long)]
        reference: Option<String>,
    },
    /// Cancels a web order online.
    Cancel {
        #[arg(long)]
        id: String,
    },
    /// Lists web orders, newest first (an order that cannot be read is left out and logged).
    List {
        #[arg(long)]
        shop: Option<String>,
    },
    /// Removes a web order that cannot be read (stored before the amount limits), or any
    /// order: its shop's tills drop it at their next sync and the web shop gets a
    /// `pos.web_order.removed` event.
    Remove {
        #[arg(long)]
        id: String,
    },
}

/// Reads a staff PIN from the first line of standard input, asking for it on a terminal.
fn read_pin(name: &str) -> Result<String> {
    use std::io::{IsTerminal, Write};
    if std::io::stdin().is_terminal() {
        eprint!("PIN of {name} (4 to 8 digits): ");
        let _ = std::io::stderr().flush();
    }
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .context("reading the PIN from standard input")?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

fn parse_line(text: &str) -> Result<NewOrderLine> {
    let parts: Vec<&str> = text.split('|').collect();
    let (product_id, label, quantity, price, vat_code) = match parts[..] {
        [p, l, q, u] => (p, l, q, u, None),
        [p, l, q, u, v] => (p, l, q, u, Some(v)),
        _ => bail!("--line `{text}`: write PRODUCT_ID|LABEL|QUANTITY|UNIT_PRICE[|VAT_CODE]"),
    };
    Ok(NewOrderLine {
        product_id: product_id.trim().into(),
        label: label.trim().into(),
        quantity: quantity
            .trim()
            .parse()
            .with_context(|| format!("--line `{text}`: the quantity is a whole number"))?,
        unit_price: price
            .trim()
            .parse()
            .map_err(|e| anyhow::anyhow!("--line `{text}`: {e}"))?,
        vat_code: vat_code
            .map(|v| v.trim().parse())
            .transpose()
            .map_err(|e| anyhow::anyhow!("--line `{text}`: {e}"))?,
    })
}

fn order_text(o: &WebOrder) -> String {
    format!(
        "{}\t{}\t{}\t{}\t{}\tpickup code {}",
        o.id,
        o.shop,
        o.state,
        o.total,
        o.payment.name(),
        o.pickup_code
    )
}

/// Runs a command; returns its JSON answer and its text.
pub async fn run(store: Arc<dyn Store>, command: FeedAdmin) -> Result<(Value, String)> {
    let admin = sync_server::admin::Admin::command_line(store.as_ref());
    Ok(match command {
        FeedAdmin::Catalog {
            action: CatalogAction::Import { file, format },
        } => {
            let name = file.display().to_string();
            let format = FileFormat::of(format.as_deref(), &name).map_err(anyhow::Error::msg)?;
            let reader = std::fs::File::open(&file).with_context(|| format!("opening {name}"))?;
            let imported = admin
                .import_catalog(format, std::io::BufReader::new(reader), &name)
                .await
                .with_context(|| format!("{name}: nothing was imported"))?;
            (
                json!({"file": name, "products": imported.products, "changed": imported.changed}),
                format!(
                    "{} products read, {} new or changed",
                    imported.products, imported.changed
                ),
            )
        }
        FeedAdmin::Catalog {
            action: CatalogAction::Remove { product },
        } => {
            let changed = admin.remove_product(&product).await?;
            (
                json!({"product": product, "changed": changed}),
                format!("product {product} removed ({changed} change)"),
            )
        }
        FeedAdmin::Staff {
            action: StaffAction::Remove { shop, id },
        } => {
            let changed = admin.remove_staff(&shop, &id).await?;
            (
                json!({"shop": shop, "id": id, "changed": changed}),
                format!("staff {id} of shop {shop} removed ({changed} change)"),
            )
        }
        FeedAdmin::Price { action } => {
            let (shop, prices) = match action {
                PriceAction::Set {
                    shop,
                    product,
                    price,
                } => (shop, vec![(product, Some(price))]),
                PriceAction::Remove { shop, product } => (shop, vec![(product, None)]),
                PriceAction::Import { shop, file } => {
                    let name = file.display().to_string();
                    let reader =
                        std::fs::File::open(&file).with_context(|| format!("opening {name}"))?;
                    let prices = distribution::read_prices(reader)
                        .map_err(anyhow::Error::msg)
                        .with_context(|| format!("{name}: nothing was imported"))?;
                    (shop, prices)
                }
            };
            let count = prices.len();
            let changed = admin.set_prices(&shop, prices).await?;
            (
                json!({"shop": shop, "prices": count, "changed": changed}),
                format!("{count} prices of shop {shop}, {changed} changed"),
            )
        }
        FeedAdmin::Settings {
            action:
                SettingsAction::Set {
                    shop,
                    address,
                    siret,
                    vat_number,
                    fiscal_year_start_month,
                },
        } => {
            if let Some(siret) = &siret
                && !(siret.len() == 14 && siret.bytes().all(|b| b.is_ascii_digit()))
            {
                bail!("a SIRET is 14 digits, `{siret}` is not");
            }
            if let Some(month) = fiscal_year_start_month
                && !(1..=12).contains(&month)
            {
                bail!("the fiscal year starts in a month from 1 to 12");
            }
            if !store.shops().await?.iter().any(|s| s.id == shop) {
                bail!("no shop `{shop}`: see `sync-server admin shop list`");
            }
            let settings = [
                ("shop_address", address.map(Value::from)),
                ("siret", siret.map(Value::from)),
                ("vat_number", vat_number.map(Value::from)),
                (
                    "fiscal_year_start_month",
                    fiscal_year_start_month.map(Value::from),
                ),
            ];
            let changes: Vec<_> = settings
                .into_iter()
                .filter_map(|(name, value)| {
                    value.map(|v| distribution::setting_change(&shop, name, v))
                })
                .collect();
            if changes.is_empty() {
                bail!("give at least one setting to set");
            }
            let count = changes.len();
            let changed = store.put_changes(changes).await?;
            (
                json!({"shop": shop, "settings": count, "changed": changed}),
                format!("{count} settings of shop {shop}, {changed} changed"),
            )
        }
        FeedAdmin::Staff {
            action:
                StaffAction::Add {
                    shop,
                    name,
                    role,
                    pin,
                    id,
                },
        } => {
            if pin.is_some() {
                bail!(
                    "--pin puts the PIN where every user of this machine can read it (ps, shell \
                     history): leave it out and give the PIN on standard input, e.g. \
                     `printf '%s\\n' \"$PIN\" | sync-server admin staff add ...`"
                );
            }
            let role = sync_server::admin::staff::staff_role(&role)?;
            let pin = read_pin(&name)?;
            let member = admin.add_staff(&shop, id, &name, role, &pin).await?;
            (
                json!({"shop": shop, "id": member.id, "name": member.name, "role": member.role}),
                format!("staff {} ({}) of shop {shop} saved", member.id, member.role),
            )
        }
        FeedAdmin::Webshop {
            action: WebshopAction::Add { name, id },
        } => {
            let id = id.unwrap_or_else(|| distribution::staff_id(&name));
            if !sync_server::store::is_plain_id(&id) {
                bail!(
                    "web shop id `{id}`: use 1 to 64 letters, digits, `-`, `_` or `.` (give --id)"
                );
            }
            let key = secrets::new_token()?;
            store
                .create_webshop(&id, &name, &secrets::token_hash(&key))
                .await
                .context("is the web shop id new?")?;
            (
                json!({"id": id, "name": name, "api_key": key}),
                format!("web shop {id} created\nAPI key (shown once): {key}"),
            )
        }
        FeedAdmin::Webshop {
            action: WebshopAction::Revoke { id },
        } => {
            store.revoke_webshop(&id, chrono::Utc::now()).await?;
            (
                json!({"id": id, "revoked": true}),
                format!(
                    "web shop {id}: API key revoked (give it a new one with `admin webshop key --id {id}`)"
                ),
            )
        }
        FeedAdmin::Webshop {
            action: WebshopAction::Key { id },
        } => {
            let key = secrets::new_token()?;
            store
                .set_webshop_key(&id, &secrets::token_hash(&key))
                .await?;
            (
                json!({"id": id, "api_key": key}),
                format!(
                    "web shop {id}: new API key (shown once; the old one no longer works): {key}"
                ),
            )
        }
        FeedAdmin::Customer {
            action: CustomerAction::Erase { id },
        } => {
            if !store.erase_customer(&id).await? {
                bail!("head office holds no details of customer `{id}`: check the id");
            }
            (
                json!({"customer": id, "erased": true}),
                format!(
                    "customer {id} erased here; the shops' tills erase them at their next sync"
                ),
            )
        }
        FeedAdmin::WebOrder { action } => match action {
            WebOrderAction::Create {
                shop,
                lines,
                payment,
                customer,
                reference,
            } => {
                let payment = match payment.as_str() {
                    "paid-online" | "paid_online" => PaymentState::PaidOnline,
                    "pay-in-shop" | "pay_in_shop" => PaymentState::PayInShop,
                    other => bail!("payment `{other}`: use paid-online or pay-in-shop"),
                };
                let request = NewWebOrder {
                    shop,
                    lines: lines.iter().map(|l| parse_line(l)).collect::<Result<_>>()?,
                    payment,
                    customer,
                    reference,
                };
                let now = Utc::now();
                let order = web_orders::new_order(&request, now)?;
                let placement = Placement {
                    webshop: "admin".into(),
                    idempotency_key: order.id.clone(),
                    request_hash: web_orders::request_hash(&request),
                    order,
                    now,
                };
                let order = match store.place_web_order(&placement).await? {
                    Placed::Created(o) | Placed::Existing(o) => o,
                };
                (serde_json::to_value(&order)?, order_text(&order))
            }
            WebOrderAction::Cancel { id } => {
                let order = store.cancel_web_order(&id, Utc::now()).await?;
                (serde_json::to_value(&order)?, order_text(&order))
            }
            WebOrderAction::Remove { id } => {
                let Some(shop) = store.remove_web_order(&id, Utc::now()).await? else {
                    bail!("no web order `{id}`: `sync-server admin web-order list` shows them");
                };
                (
                    serde_json::json!({"removed": id, "shop": shop}),
                    format!(
                        "web order {id} removed; the tills of shop {shop} drop it at their next sync"
                    ),
                )
            }
            WebOrderAction::List { shop } => {
                let shops = sync_server::store::ShopSelection { shop, region: None };
                let orders = sync_server::store::all_web_orders(store.as_ref(), &shops).await?;
                let text = orders.iter().map(order_text).collect::<Vec<_>>().join("\n");
                (serde_json::to_value(&orders)?, text)
            }
        },
    })
}
