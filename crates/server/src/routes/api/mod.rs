//! The HTTP API's shared types: request bodies, path, query and header parameters, and the
//! refusal sets. Both the handlers and the OpenAPI document import them from here, and this
//! module imports neither, so the document can list the handlers without a circle.

mod after_sale;
mod alerts;
mod params;
mod refusals;
mod requests;
mod sale;
mod scans;
mod stockroom;

pub use after_sale::{
    CancelOrderRequest, ExpectRequest, NewCancel, NewPreorders, NewPurchaseOrder, NewReceipt, NewReturn,
    PreordersRequest, ReceiveRequest, ReturnRequest,
};
pub use alerts::{AlertRulesRequest, WebhookRequest};
pub use params::{AdmissionParam, IdempotencyKeyHeader, LocationPath, ReservationPath, SkuPath, StrategyQuery};
pub use refusals::*;
pub use requests::{
    CheckoutRequest, ExtendRequest, NewCart, NewHold, NewPurchase, NewReplay, NewRestock, NewRush, NewStock,
    PurchaseRequest, ReplayRequest, ReserveRequest, RestockRequest, RushRequest, SetStockRequest,
};
pub use sale::{BotsRequest, QueueRequest, SaleRequest};
pub use scans::{BadRow, MAX_ROWS, MovementBatchRequest, Scan, ScanRow, parse_batch};
pub use stockroom::{
    AdjustmentRequest, NewAdjustment, NewLocationStock, NewTransfer, SetLocationStockRequest, TransferRequest,
};
