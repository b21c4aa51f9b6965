//! The stock screen's commands: a product's stock here and nearby (head office's answer, or
//! the one kept with its age), the shop's shipping notices, receive a delivery (against one
//! or not), send and receive transfers, start and finish counts, list what was recorded. A manager or the stock role may; a cashier may not.
//! The rules are the engine's ([`pos_till::stock`]); each operation is a signed record of the
//! `stock` chain, sent to head office by the next sync.

use pos_domain::on_hand::ShopOnHand;
use pos_domain::record::timestamp;
use pos_domain::stock::{CountScope, ReceivedLine, ShippingNotice, StockOperation};
use pos_till::stock::{
    CountLineRequest, OpenCount, ReceiveLineRequest, ReceiveRequest, SendLineRequest, StockRecord,
    TransferArrivalRequest, TransferRequest,
};

use pos_till::stock_on_hand::KeptOnHand;

use crate::api::*;
use crate::error::{ApiError, ApiResult};
use crate::service::{Service, lock};

impl Service {
    /// Refuses a cashier: stock work is the manager's or the stock role's.
    fn require_stock_role(&self) -> ApiResult<StaffMember> {
        let staff = self.current()?;
        if staff.role == Role::Cashier {
            return Err(ApiError::invalid(
                "role_forbidden",
                "stock operations are for a manager or the stock role: ask one of them",
            ));
        }
        Ok(staff)
    }

    pub fn stock_notices(&self, _: Empty) -> ApiResult<Vec<ShippingNoticeView>> {
        self.require_stock_role()?;
        Ok(lock(&self.till)
            .shipping_notices()?
            .iter()
            .map(notice_view)
            .collect())
    }

    /// Asks head office while the lock is held (at most its short ask timeout), as the other
    /// questions asked while a customer waits do.
    pub fn stock_on_hand(&self, request: StockOnHandRequest) -> ApiResult<StockOnHandView> {
        self.require_stock_role()?;
        let report = lock(&self.till).stock_on_hand(&request.products)?;
        Ok(StockOnHandView {
            live: report.live,
            unreachable: report.unreachable,
            products: report.products.iter().map(product_stock_view).collect(),
            unknown: report.unknown,
        })
    }

    pub fn stock_receive(&self, request: StockReceiveRequest) -> ApiResult<StockOperationView> {
        let staff = self.require_stock_role()?;
        let request = ReceiveRequest {
            asn: request.asn,
            lines: received(request.lines),
        };
        let recorded = lock(&self.till).receive_goods(&staff.id, &request)?;
        self.request_sync();
        Ok(view(&recorded))
    }

    pub fn stock_transfer_send(
        &self,
        request: StockTransferRequest,
    ) -> ApiResult<StockOperationView> {
        let staff = self.require_stock_role()?;
        let request = TransferRequest {
            to_shop: request.to_shop,
            lines: request
                .lines
                .into_iter()
                .map(|l| SendLineRequest {
                    product_id: l.product_id,
                    quantity: l.quantity,
                    serials: l.serials.unwrap_or_default(),
                })
                .collect(),
        };
        let recorded = lock(&self.till).send_transfer(&staff.id, &request)?;
        self.request_sync();
        Ok(view(&recorded))
    }

    pub fn stock_transfer_receive(
        &self,
        request: StockArrivalRequest,
    ) -> ApiResult<StockOperationView> {
        let staff = self.require_stock_role()?;
        let request = TransferArrivalRequest {
            transfer_id: request.transfer_id,
            from_shop: request.from_shop,
            lines: received(request.lines),
        };
        let recorded = lock(&self.till).receive_transfer(&staff.id, &request)?;
        self.request_sync();
        Ok(view(&recorded))
    }

    pub fn stock_count_start(
        &self,
        request: StockCountStartRequest,
    ) -> ApiResult<StockOperationView> {
        let staff = self.require_stock_role()?;
        let value = request.value.unwrap_or_default();
        let scope = match request.by {
            StockCountBy::Full => CountScope::Full,
            StockCountBy::Category => CountScope::Category(value),
            StockCountBy::Shelf => CountScope::Shelf(value),
        };
        let recorded = lock(&self.till).start_count(&staff.id, scope, request.blind)?;
        self.request_sync();
        Ok(view(&recorded))
    }

    pub fn stock_count_finish(
        &self,
        request: StockCountFinishRequest,
    ) -> ApiResult<StockOperationView> {
        let staff = self.require_stock_role()?;
        let lines: Vec<CountLineRequest> = request
            .lines
            .into_iter()
            .map(|l| CountLineRequest {
                product_id: l.product_id,
                counted: l.counted,
            })
            .collect();
        let recorded = lock(&self.till).finish_count(&staff.id, &request.count_id, &lines)?;
        self.request_sync();
        Ok(view(&recorded))
    }

    pub fn stock_open_counts(&self, _: Empty) -> ApiResult<Vec<OpenCountView>> {
        self.require_stock_role()?;
        Ok(lock(&self.till)
            .open_counts()?
            .iter()
            .map(open_count_view)
            .collect())
    }

    pub fn stock_operations(
        &self,
        request: StockOperationsRequest,
    ) -> ApiResult<Vec<StockOperationView>> {
        self.require_stock_role()?;
        let limit = request.limit.unwrap_or(20).min(500);
        Ok(lock(&self.till)
            .stock_records(u64::from(limit))?
            .iter()
            .map(view)
            .collect())
    }
}

fn figure(value: i64) -> i32 {
    value.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32
}

fn shop_stock_view(shop: &ShopOnHand) -> ShopStockView {
    ShopStockView {
        shop_id: shop.shop_id.clone(),
        shop_name: shop.shop_name.clone(),
        unit: shop.unit.name().into(),
        on_hand: figure(shop.on_hand),
        in_transit: figure(shop.in_transit),
        reserved: figure(shop.reserved),
        available: figure(shop.available),
    }
}

fn product_stock_view(kept: &KeptOnHand) -> ProductStockView {
    ProductStockView {
        product_id: kept.stock.product_id.clone(),
        here: shop_stock_view(&kept.stock.here),
        nearby: kept.stock.nearby.iter().map(shop_stock_view).collect(),
        answered_at: timestamp::format(&kept.answered_at),
        age_seconds: u32::try_from(kept.age_seconds).unwrap_or(u32::MAX),
    }
}

fn notice_view(notice: &ShippingNotice) -> ShippingNoticeView {
    ShippingNoticeView {
        id: notice.id.clone(),
        lines: notice
            .lines
            .iter()
            .map(|l| NoticeLineView {
                product_id: l.product_id.clone(),
                unit: l.unit.name().into(),
                quantity: l.quantity,
                serials: l.serials.iter().map(|s| s.to_string()).collect(),
            })
            .collect(),
    }
}

fn received(lines: Vec<StockReceivedLine>) -> Vec<ReceiveLineRequest> {
    lines
        .into_iter()
        .map(|l| ReceiveLineRequest {
            product_id: l.product_id,
            expected: l.expected.unwrap_or(0),
            received: l.received,
            damaged: l.damaged.unwrap_or(0),
            serials: l.serials.unwrap_or_default(),
        })
        .collect()
}

fn received_view(l: &ReceivedLine) -> StockLineView {
    StockLineView {
        product_id: l.product_id.clone(),
        unit: l.unit.name().into(),
        expected: l.expected,
        quantity: l.received,
        damaged: l.damaged,
        missing: l.missing(),
        extra: l.extra(),
        serials: l.serials.iter().map(|s| s.to_string()).collect(),
    }
}

fn plain_view(product_id: &str, unit: &str, quantity: u32, serials: Vec<String>) -> StockLineView {
    StockLineView {
        product_id: product_id.into(),
        unit: unit.into(),
        expected: quantity,
        quantity,
        damaged: 0,
        missing: 0,
        extra: 0,
        serials,
    }
}

fn view(recorded: &StockRecord) -> StockOperationView {
    let op = &recorded.operation;
    let (asn, other_shop, lines) = match op {
        StockOperation::GoodsReceipt(r) => (
            r.asn.clone(),
            None,
            r.lines.iter().map(received_view).collect(),
        ),
        StockOperation::TransferIn(t) => (
            None,
            Some(t.from_shop.clone()),
            t.lines.iter().map(received_view).collect(),
        ),
        StockOperation::TransferOut(t) => (
            None,
            Some(t.to_shop.clone()),
            t.lines
                .iter()
                .map(|l| {
                    let serials = l.serials.iter().map(|s| s.to_string()).collect();
                    plain_view(&l.product_id, l.unit.name(), l.quantity, serials)
                })
                .collect(),
        ),
        StockOperation::CountStarted(_) => (None, None, Vec::new()),
        StockOperation::CountFinished(c) => (
            None,
            None,
            c.lines
                .iter()
                .map(|l| plain_view(&l.product_id, l.unit.name(), l.counted, Vec::new()))
                .collect(),
        ),
    };
    let differences = lines
        .iter()
        .any(|l: &StockLineView| l.missing + l.extra + l.damaged > 0);
    StockOperationView {
        seq: recorded.seq as u32,
        at: timestamp::format(&recorded.at),
        operator: recorded.operator.clone(),
        kind: op.kind().into(),
        id: op.id().into(),
        asn,
        other_shop,
        lines,
        differences,
    }
}

fn open_count_view(count: &OpenCount) -> OpenCountView {
    let (by, value) = match &count.scope {
        CountScope::Full => (StockCountBy::Full, None),
        CountScope::Category(c) => (StockCountBy::Category, Some(c.clone())),
        CountScope::Shelf(s) => (StockCountBy::Shelf, Some(s.clone())),
    };
    OpenCountView {
        count_id: count.count_id.clone(),
        by,
        value,
        blind: count.blind,
        started_at: timestamp::format(&count.started_at),
    }
}
