//! Purchases, carts, reservations and orders: the calls a shop makes at checkout.

use crate::call::Call;
use crate::model::{CheckedOut, Confirmed, Order, Purchased, Reservation, Reserved};
use crate::{Client, Error};
use reqwest::Method;
use serde_json::json;
use stockwatch_domain::{CartItem, CartItems, OrderId, Quantity, ReservationId, Sku, TtlSeconds, UserId};

impl Client {
    /// `POST /v1/purchases`: buys `quantity` of `sku` for `user`, from the SKU's locations in
    /// priority order.
    pub async fn purchase(&self, sku: &Sku, quantity: Quantity, user: &UserId) -> Result<Purchased, Error> {
        self.purchase_line(&CartItem::new(sku.clone(), quantity), user).await
    }

    /// `POST /v1/purchases` for one line, which may be pinned to a location
    /// ([`CartItem::at`]).
    pub async fn purchase_line(&self, line: &CartItem, user: &UserId) -> Result<Purchased, Error> {
        let mut body = json!({"sku": line.sku, "quantity": line.quantity, "user_id": user});
        if let Some(location) = &line.location {
            body["location"] = json!(location);
        }
        self.json(self.take(&["v1", "purchases"]).body(body)).await
    }

    /// `POST /v1/checkouts`: buys every line of `items` at once, or none.
    pub async fn checkout(&self, user: &UserId, items: &CartItems) -> Result<CheckedOut, Error> {
        let body = json!({"user_id": user, "items": items});
        self.json(self.take(&["v1", "checkouts"]).body(body)).await
    }

    /// `POST /v1/reservations`: holds every line of `items` for `ttl` (the server's
    /// default, 10 minutes, when `None`), or none.
    pub async fn reserve(&self, user: &UserId, items: &CartItems, ttl: Option<TtlSeconds>) -> Result<Reserved, Error> {
        let mut body = json!({"user_id": user, "items": items});
        if let Some(ttl) = ttl {
            body["ttl_seconds"] = json!(ttl);
        }
        self.json(self.take(&["v1", "reservations"]).body(body)).await
    }

    /// `GET /v1/reservations/{id}`.
    pub async fn reservation(&self, id: ReservationId) -> Result<Reservation, Error> {
        self.json(Call::get(&["v1", "reservations", &id.to_string()])).await
    }

    /// `POST /v1/reservations/{id}/confirm`: the hold becomes an order.
    pub async fn confirm(&self, id: ReservationId) -> Result<Confirmed, Error> {
        self.json(Call::keyed(
            Method::POST,
            &["v1", "reservations", &id.to_string(), "confirm"],
        ))
        .await
    }

    /// `POST /v1/reservations/{id}/cancel`: the held units go back.
    pub async fn cancel(&self, id: ReservationId) -> Result<Reservation, Error> {
        self.json(Call::keyed(
            Method::POST,
            &["v1", "reservations", &id.to_string(), "cancel"],
        ))
        .await
    }

    /// `POST /v1/reservations/{id}/extend`: the hold now lapses `ttl` from now.
    pub async fn extend(&self, id: ReservationId, ttl: TtlSeconds) -> Result<Reservation, Error> {
        let call = Call::keyed(Method::POST, &["v1", "reservations", &id.to_string(), "extend"]);
        self.json(call.body(json!({"ttl_seconds": ttl}))).await
    }

    /// `GET /v1/orders/{id}`.
    pub async fn order(&self, id: OrderId) -> Result<Order, Error> {
        self.json(Call::get(&["v1", "orders", &id.to_string()])).await
    }

    /// A keyed take, with this client's strategy.
    fn take(&self, path: &[&str]) -> Call {
        Call::keyed(Method::POST, path)
            .query("strategy", Some(self.strategy.as_str().to_owned()))
            .header("Admission", self.admission.as_deref().map(str::to_owned))
    }
}
