//! Customers at the till: search as the cashier types, creation from what was typed, changes
//! of contact details. The engine checks and stores them ([`pos_till::customers`]); this module
//! turns requests into engine calls and customers into views, and asks the sync loop to send a
//! change to head office at once.

use pos_domain::customer::{ContactInput, Customer, display_phone};
use pos_till::system::random_id;

use crate::api::*;
use crate::error::ApiResult;
use crate::service::{Service, lock};

const DEFAULT_LIMIT: u32 = 20;
const MAX_LIMIT: u32 = 200;

/// A customer as the sale screen shows them.
pub fn view(c: &Customer) -> CustomerView {
    CustomerView {
        id: c.id.clone(),
        name: c.name.clone(),
        phone: c.phone.clone(),
        phone_display: c.phone.as_deref().map(display_phone),
        email: c.email.clone(),
    }
}

impl Service {
    pub fn customer_search(&self, request: CustomerSearchRequest) -> ApiResult<Vec<CustomerView>> {
        self.current()?;
        let limit = request.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT);
        Ok(lock(&self.till)
            .search_customers(&request.text, limit as usize)?
            .iter()
            .map(view)
            .collect())
    }

    pub fn customer_get(&self, request: CustomerId) -> ApiResult<CustomerView> {
        self.current()?;
        let id = request.id.trim();
        let customer = lock(&self.till)
            .customer(id)?
            .ok_or_else(|| pos_till::customers::unknown(id))?;
        Ok(view(&customer))
    }

    pub fn customer_create(&self, request: CustomerInput) -> ApiResult<CustomerView> {
        self.current()?;
        let input = ContactInput {
            name: request.name,
            phone: request.phone,
            email: request.email,
        };
        let created = lock(&self.till).create_customer(&input, random_id()?)?;
        self.request_sync();
        Ok(view(&created))
    }

    pub fn customer_update(&self, request: CustomerUpdateRequest) -> ApiResult<CustomerView> {
        self.current()?;
        let input = ContactInput {
            name: request.name,
            phone: request.phone,
            email: request.email,
        };
        let updated = lock(&self.till).update_customer(request.id.trim(), &input)?;
        self.request_sync();
        Ok(view(&updated))
    }
}
