//! Legal entities, regions and shops: the chain's organisation, which scopes what each
//! head-office user sees.

use pos_domain::vat::Territory;

use super::{Admin, AdminError, Result, checked_id, json_of, slug};
use crate::store::{AdminChange, LegalEntity, Region, Shop};

impl Admin<'_> {
    /// Creates a legal entity (id defaults to a slug of the name).
    pub async fn create_entity(&self, entity: LegalEntity) -> Result<LegalEntity> {
        let LegalEntity {
            id,
            name,
            siren,
            fiscal_year_start_month,
        } = entity;
        if siren.len() != 9 || !siren.bytes().all(|b| b.is_ascii_digit()) {
            return Err(AdminError::Invalid(format!(
                "SIREN `{siren}` must be 9 digits"
            )));
        }
        if !(1..=12).contains(&fiscal_year_start_month) {
            return Err(AdminError::Invalid(
                "the fiscal year start is a month number, 1 to 12".into(),
            ));
        }
        let id = if id.is_empty() { slug(&name) } else { id };
        let entity = LegalEntity {
            id: checked_id("entity", id)?,
            name,
            siren,
            fiscal_year_start_month,
        };
        self.apply(
            AdminChange::Entity(entity.clone()),
            "entity.create",
            format!("entity {}", entity.id),
            None,
            json_of(&entity),
        )
        .await?;
        Ok(entity)
    }

    /// Creates a region (id defaults to a slug of the name).
    pub async fn create_region(&self, id: Option<String>, name: &str) -> Result<Region> {
        let name = name.trim();
        if name.is_empty() {
            return Err(AdminError::Invalid("give the region a name".into()));
        }
        let region = Region {
            id: checked_id("region", id.unwrap_or_else(|| slug(name)))?,
            name: name.to_string(),
        };
        self.apply(
            AdminChange::Region(region.clone()),
            "region.create",
            format!("region {}", region.id),
            None,
            json_of(&region),
        )
        .await
        .map_err(|e| match e {
            AdminError::Conflict(_) => AdminError::Conflict(format!(
                "region `{}` already exists: give another id",
                region.id
            )),
            other => other,
        })?;
        Ok(region)
    }

    /// Creates a shop (id defaults to a slug of the name), checking its territory and zone.
    pub async fn create_shop(&self, shop: Shop) -> Result<Shop> {
        shop.territory
            .parse::<Territory>()
            .map_err(|e| AdminError::Invalid(format!("territory: {e}")))?;
        shop.timezone.parse::<chrono_tz::Tz>().map_err(|_| {
            AdminError::Invalid(format!(
                "`{}` is not an IANA time zone (`Europe/Paris`)",
                shop.timezone
            ))
        })?;
        let id = if shop.id.is_empty() {
            slug(&shop.name)
        } else {
            shop.id.clone()
        };
        let shop = Shop {
            id: checked_id("shop", id)?,
            ..shop
        };
        self.apply(
            AdminChange::Shop(shop.clone()),
            "shop.create",
            format!("shop {}", shop.id),
            None,
            json_of(&shop),
        )
        .await
        .map_err(|e| match e {
            AdminError::Conflict(_) => AdminError::Conflict(format!(
                "shop `{}` cannot be created: is its legal entity created, its region (if given) created, and its id new?",
                shop.id
            )),
            other => other,
        })?;
        Ok(shop)
    }

    /// Puts a shop in a region, or in none.
    pub async fn set_shop_region(&self, shop_id: &str, region: Option<&str>) -> Result<()> {
        let before = self
            .store
            .shops()
            .await?
            .into_iter()
            .find(|s| s.id == shop_id)
            .ok_or_else(|| AdminError::NotFound(format!("no shop `{shop_id}`")))?
            .region_id;
        let change = AdminChange::ShopRegion {
            shop_id: shop_id.to_string(),
            region_id: region.map(str::to_string),
        };
        self.apply(
            change,
            "shop.region",
            format!("shop {shop_id}"),
            Some(serde_json::json!({"region_id": before})),
            Some(serde_json::json!({"region_id": region})),
        )
        .await?;
        Ok(())
    }
}
