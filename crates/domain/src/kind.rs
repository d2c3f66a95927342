//! What a change did: the kind of a movement and of a ledger entry, one closed set from the
//! operation that makes the change to the stream, the feed and the books.

use serde::{Deserialize, Serialize};

/// The kind of a ledger entry. Every movement kind moves stock ([`EntryKind::deltas`]);
/// `order` and `extend` write a record alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EntryKind {
    /// `PUT …/stock`: a level set.
    Set,
    /// `POST …/restock`.
    Restock,
    /// `POST …/adjustments`.
    Adjust,
    /// Units moved between two locations of one SKU.
    Transfer,
    /// `POST /v1/purchases`.
    Purchase,
    /// `POST /v1/checkouts`.
    Checkout,
    /// A hold.
    Reserve,
    /// A hold sold.
    Confirm,
    /// A hold cancelled.
    Cancel,
    /// A hold that lapsed.
    Expire,
    /// An order written alone (a confirmed hold's, a saga's).
    Order,
    /// A hold given a new deadline.
    Extend,
    /// `DELETE /v1/skus/{sku}`: the SKU retired, its available units written off.
    Retire,
    /// An order cancelled: its sold units back to `available` (v1.5).
    #[serde(rename = "cancel_order")]
    CancelOrder,
    /// Units of an order returned to `available` (v1.5).
    Return,
    /// Available units found or returned damaged: they move to `damaged` (v1.5).
    Damage,
    /// Damaged units that passed inspection, back to `available` (v1.5).
    Restore,
    /// Damaged units thrown away: they leave the stock (v1.5).
    #[serde(rename = "write_off")]
    WriteOff,
    /// A purchase order: units on their way, `incoming` until received (v1.5).
    Expect,
    /// Units of a purchase order received: `available` (v1.5).
    Receive,
    /// Received units that went to the purchase order's preorders, oldest first, instead
    /// of `available` (v1.5).
    Fill,
}

impl EntryKind {
    /// Every kind, in declaration order.
    pub const ALL: [Self; 21] = [
        Self::Set,
        Self::Restock,
        Self::Adjust,
        Self::Transfer,
        Self::Purchase,
        Self::Checkout,
        Self::Reserve,
        Self::Confirm,
        Self::Cancel,
        Self::Expire,
        Self::Order,
        Self::Extend,
        Self::Retire,
        Self::CancelOrder,
        Self::Return,
        Self::Damage,
        Self::Restore,
        Self::WriteOff,
        Self::Expect,
        Self::Receive,
        Self::Fill,
    ];

    /// The name stored in movements, entries and the books.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Set => "set",
            Self::Restock => "restock",
            Self::Adjust => "adjust",
            Self::Transfer => "transfer",
            Self::Purchase => "purchase",
            Self::Checkout => "checkout",
            Self::Reserve => "reserve",
            Self::Confirm => "confirm",
            Self::Cancel => "cancel",
            Self::Expire => "expire",
            Self::Order => "order",
            Self::Extend => "extend",
            Self::Retire => "retire",
            Self::CancelOrder => "cancel_order",
            Self::Return => "return",
            Self::Damage => "damage",
            Self::Restore => "restore",
            Self::WriteOff => "write_off",
            Self::Expect => "expect",
            Self::Receive => "receive",
            Self::Fill => "fill",
        }
    }

    /// The kind named `name`, as [`EntryKind::as_str`] writes it.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// What one unit of a line of this kind does to
    /// `available, reserved, sold, received, damaged`; `None` for a kind that moves no stock.
    pub fn deltas(self) -> Option<[i64; 5]> {
        Some(match self {
            Self::Set | Self::Restock | Self::Adjust | Self::Receive => [1, 0, 0, 1, 0],
            // Units on their way are no stock yet: `incoming` is kept beside the counters.
            Self::Expect => [0, 0, 0, 0, 0],
            // Its quantity is the units written off; what was sold stays sold.
            Self::Retire => [-1, 0, 0, -1, 0],
            // Between locations of one SKU: the totals the ledger keeps do not move.
            Self::Transfer => [0, 0, 0, 0, 0],
            Self::Purchase | Self::Checkout => [-1, 0, 1, 0, 0],
            Self::Reserve => [-1, 1, 0, 0, 0],
            Self::Confirm => [0, -1, 1, 0, 0],
            Self::Cancel | Self::Expire => [1, -1, 0, 0, 0],
            Self::CancelOrder | Self::Return => [1, 0, -1, 0, 0],
            Self::Damage => [-1, 0, 0, 0, 1],
            Self::Restore => [1, 0, 0, 0, -1],
            Self::WriteOff => [0, 0, 0, -1, -1],
            // Received units leave `available` for the preorders they were sold to.
            Self::Fill => [-1, 0, 0, 0, 0],
            Self::Order | Self::Extend => return None,
        })
    }

    /// What one unit of a line of this kind does when the line is a preorder's units still
    /// waiting for their purchase order: the same, less any move in `available`, since
    /// those units never were on the shelf (sold or held against `incoming`; a cancel gives
    /// them back to the purchase order, not to the shelf).
    pub fn preorder_deltas(self) -> Option<[i64; 5]> {
        self.deltas().map(|[_, r, s, rec, d]| [0, r, s, rec, d])
    }

    /// What one unit of a line of this kind does to the units preordered and waiting:
    /// `waiting` says the line is a preorder's units still waiting (its allocation names a
    /// purchase order). A preorder sold or held adds them; a cancel, expiry or return of
    /// waiting units, or a receipt's `fill`, takes them away.
    pub fn preordered(self, waiting: bool) -> i64 {
        match (self, waiting) {
            (Self::Fill, _) => -1,
            (Self::Purchase | Self::Checkout | Self::Reserve, true) => 1,
            (Self::Cancel | Self::Expire | Self::CancelOrder | Self::Return, true) => -1,
            _ => 0,
        }
    }

    /// What one unit of this kind does to `received` (stock received net of write-offs).
    pub fn received(self) -> i64 {
        self.deltas().map_or(0, |d| d[3])
    }

    /// What one unit of this kind does to `damaged`.
    pub fn damaged(self) -> i64 {
        self.deltas().map_or(0, |d| d[4])
    }
}

impl std::fmt::Display for EntryKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::EntryKind;

    #[test]
    fn each_kind_reads_back_as_written() {
        for kind in EntryKind::ALL {
            assert_eq!(EntryKind::parse(kind.as_str()), Some(kind));
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{kind}\""));
            assert_eq!(serde_json::from_str::<EntryKind>(&json).unwrap(), kind);
        }
        assert_eq!(EntryKind::parse("refund"), None);
    }
}
