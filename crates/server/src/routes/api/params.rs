//! Path, query and header parameters, declared once for every endpoint that takes them.

use serde::Deserialize;
use utoipa::IntoParams;

/// `?strategy=` of the stock-moving endpoints.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StrategyQuery {
    /// watch (default), lua or broken (only with --allow-broken).
    #[param(value_type = Option<crate::domain::Strategy>)]
    pub strategy: Option<String>,
}

/// The `Idempotency-Key` header.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Header)]
pub struct IdempotencyKeyHeader {
    /// 1-128 visible ASCII characters; a repeat with the same body returns the first answer.
    #[serde(rename = "Idempotency-Key")]
    #[param(min_length = 1, max_length = 128, pattern = r"^[!-~]{1,128}$")]
    pub idempotency_key: Option<String>,
}

/// The `Admission` header of a take: what a SKU with a waiting room needs.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Header)]
pub struct AdmissionParam {
    /// The token an admitted ticket carries (`GET /v1/skus/{sku}/queue/{ticket}`); several
    /// separated by commas for a cart of several SKUs with waiting rooms.
    #[serde(rename = "Admission")]
    #[param(max_length = 4096)]
    pub admission: Option<String>,
}

/// The `{id}` of a reservation path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ReservationPath {
    /// Reservation id (UUIDv7)
    pub id: String,
}

/// The `{sku}` of a SKU path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct SkuPath {
    /// The SKU
    #[param(value_type = crate::domain::Sku)]
    pub sku: String,
}

/// `{sku}` and `{location}` in a path.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct LocationPath {
    /// The SKU
    #[param(value_type = crate::domain::Sku)]
    pub sku: String,
    /// One of its locations (`default` is the implicit one)
    #[param(value_type = crate::domain::Location)]
    pub location: String,
}
