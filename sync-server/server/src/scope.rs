//! What a head-office user may see: admins and accountants every shop, a regional manager the
//! shops of their region, a shop manager their shop, the logistics role no shop's sales or
//! tills (only stock, through its own routes). A request naming a shop or a region
//! outside the user's scope is refused (403, naming the scope); a request naming none covers
//! every shop the user may see. A single resource (a ticket, a web order) of a shop outside
//! the scope is answered as if it did not exist (404, see [`visible`]), so its id tells
//! nothing.
//!
//! Region membership is read when the request runs: a shop moved to another region takes its
//! history with it.

use crate::api::Failure;
use crate::store::{NO_REGION, Role, Shop, ShopSelection, Store, User};

/// The shops a request covers, and every shop with its region to test membership.
#[derive(Clone, Debug)]
pub struct Scoped {
    pub selection: ShopSelection,
    shops: Vec<Shop>,
}

impl Scoped {
    /// Whether `shop_id` is among the shops the request covers.
    pub fn contains(&self, shop_id: &str) -> bool {
        self.selection.contains(shop_id, self.region_of(shop_id))
    }

    /// A shop, if it exists.
    pub fn shop(&self, shop_id: &str) -> Option<&Shop> {
        self.shops.iter().find(|s| s.id == shop_id)
    }

    fn region_of(&self, shop_id: &str) -> Option<&str> {
        self.shops
            .iter()
            .find(|s| s.id == shop_id)
            .and_then(|s| s.region_id.as_deref())
    }
}

/// The shops `user` sees for a request asking `shop` and `region` (either may be absent).
pub async fn scope(
    store: &dyn Store,
    user: &User,
    shop: Option<String>,
    region: Option<String>,
) -> Result<Scoped, Failure> {
    let shops = store.shops().await?;
    let selection = select(user, &shops, shop, region)?;
    Ok(Scoped { selection, shops })
}

/// Checks that `user` may see a resource of shop `shop_id`; one outside their scope is
/// answered `missing()`, the answer for an unknown id, so ids (ticket numbers, order ids) do
/// not tell what exists beyond the scope. A user who may see nothing at all (a manager bound
/// to no shop or region) is still told why (403).
pub async fn visible(
    store: &dyn Store,
    user: &User,
    shop_id: &str,
    missing: impl FnOnce() -> Failure,
) -> Result<(), Failure> {
    let scoped = scope(store, user, None, None).await?;
    if scoped.contains(shop_id) {
        Ok(())
    } else {
        Err(missing())
    }
}

/// The rules of [`scope`], given every shop.
pub fn select(
    user: &User,
    shops: &[Shop],
    shop: Option<String>,
    region: Option<String>,
) -> Result<ShopSelection, Failure> {
    let region_of = |id: &str| {
        shops
            .iter()
            .find(|s| s.id == id)
            .map(|s| s.region_id.as_deref().unwrap_or(NO_REGION))
    };
    match user.role {
        Role::Admin | Role::Accountant => Ok(ShopSelection { shop, region }),
        Role::Logistics => Err(Failure::forbidden(
            "the logistics role reads stock levels, shipping notices and replenishment only",
        )),
        Role::ShopManager => {
            let Some(own) = user.shop_id.clone() else {
                return Err(Failure::forbidden(
                    "this shop manager is bound to no shop: ask an admin",
                ));
            };
            if let Some(asked) = &shop
                && asked != &own
            {
                return Err(Failure::forbidden(format!(
                    "a shop manager sees only their shop `{own}`"
                )));
            }
            if let Some(asked) = &region
                && region_of(&own) != Some(asked.as_str())
            {
                return Err(Failure::forbidden(format!(
                    "a shop manager sees only their shop `{own}`, which is not in region `{asked}`"
                )));
            }
            Ok(ShopSelection::shop(&own))
        }
        Role::RegionalManager => {
            let Some(own) = user.region_id.clone() else {
                return Err(Failure::forbidden(format!(
                    "the regional manager `{}` is bound to no region: ask an admin to run \
                     `sync-server admin user region --id {} --region REGION`",
                    user.id, user.id
                )));
            };
            if let Some(asked) = &region
                && asked != &own
            {
                return Err(Failure::forbidden(format!(
                    "a regional manager sees only the shops of their region `{own}`, not region `{asked}`"
                )));
            }
            if let Some(asked) = &shop
                && region_of(asked) != Some(own.as_str())
            {
                return Err(Failure::forbidden(format!(
                    "shop `{asked}` is not in region `{own}`: a regional manager sees only the shops of their region"
                )));
            }
            Ok(ShopSelection {
                shop,
                region: Some(own),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shop(id: &str, region: Option<&str>) -> Shop {
        Shop {
            id: id.into(),
            entity_id: "E".into(),
            name: id.into(),
            territory: "metropole".into(),
            timezone: "Europe/Paris".into(),
            address: String::new(),
            region_id: region.map(str::to_string),
        }
    }

    fn user(role: Role, shop: Option<&str>, region: Option<&str>) -> User {
        User {
            id: "u".into(),
            name: "U".into(),
            role,
            shop_id: shop.map(str::to_string),
            region_id: region.map(str::to_string),
        }
    }

    fn shops() -> Vec<Shop> {
        vec![
            shop("A", Some("NORTH")),
            shop("B", Some("SOUTH")),
            shop("C", None),
        ]
    }

    #[test]
    fn a_regional_manager_sees_their_region_and_is_refused_the_rest() {
        let manager = user(Role::RegionalManager, None, Some("NORTH"));
        let all = select(&manager, &shops(), None, None).unwrap();
        assert_eq!(all.region.as_deref(), Some("NORTH"));
        assert!(all.contains("A", Some("NORTH")) && !all.contains("B", Some("SOUTH")));
        let own = select(&manager, &shops(), Some("A".into()), None).unwrap();
        assert_eq!(own.shop.as_deref(), Some("A"));
        let other = select(&manager, &shops(), Some("B".into()), None).unwrap_err();
        assert!(other.message.contains("NORTH"), "{}", other.message);
        assert!(select(&manager, &shops(), Some("C".into()), None).is_err());
        assert!(select(&manager, &shops(), None, Some("SOUTH".into())).is_err());
        assert!(select(&manager, &shops(), None, Some(NO_REGION.into())).is_err());
    }

    #[test]
    fn a_regional_manager_without_a_region_is_refused_with_what_to_do() {
        let lost = user(Role::RegionalManager, None, None);
        let refused = select(&lost, &shops(), None, None).unwrap_err();
        assert!(
            refused.message.contains("bound to no region"),
            "{}",
            refused.message
        );
    }

    #[test]
    fn a_shop_manager_may_name_their_shops_region_only() {
        let manager = user(Role::ShopManager, Some("A"), None);
        assert_eq!(
            select(&manager, &shops(), None, Some("NORTH".into())).unwrap(),
            ShopSelection::shop("A")
        );
        assert!(select(&manager, &shops(), None, Some("SOUTH".into())).is_err());
        assert!(select(&manager, &shops(), Some("B".into()), None).is_err());
    }

    #[test]
    fn admins_and_accountants_get_what_they_ask() {
        for role in [Role::Admin, Role::Accountant] {
            let asked = select(
                &user(role, None, None),
                &shops(),
                None,
                Some("SOUTH".into()),
            );
            assert_eq!(asked.unwrap().region.as_deref(), Some("SOUTH"));
        }
    }
}
