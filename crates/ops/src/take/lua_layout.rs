//! The take script's argument layout, declared once: [`BatchKey`], [`BatchArg`],
//! [`BuyerArg`] and [`BuyerKey`] list the slots in order, and the script's `S_*`, `B_*`,
//! `A_*` and `K_*` offsets are generated from those lists ([`layout_header`]); `lua.rs`
//! fills each slot through an exhaustive `match` over the same lists. Neither side can add, drop
//! or reorder a slot without the other following: the tests below check that the script
//! names only declared slots, and every declared one, and hold the JSON the script splices
//! into to [`LINE_QUANTITY`]. A buyer's optional arguments come after its record ones, named
//! by the letters of its `A_EXTRAS` ([`Extras`]); how many arguments each letter brings is
//! generated into the script the same way, and so are the settings a take reads
//! (`settings_mark::SETTINGS`) and the mark that says a SKU may have some.

use crate::settings_mark;

/// Declares one part of the script's layout: an enum of its slots in order, and the Lua
/// name of each slot's offset. The script's offsets are generated from `LUA`.
macro_rules! layout {
    ($(#[$doc:meta])* enum $name:ident, count $count:literal { $($(#[$vdoc:meta])* $variant:ident = $lua:literal,)* }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub(super) enum $name {
            $($(#[$vdoc])* $variant,)*
        }

        impl $name {
            /// Every slot, in layout order.
            pub(super) const ALL: &'static [Self] = &[$(Self::$variant),*];
            /// Each slot's offset name in the script, in layout order.
            pub(super) const LUA: &'static [&'static str] = &[$($lua),*];
            /// The Lua name of the slot count.
            pub(super) const COUNT: &'static str = $count;
        }
    };
}

layout! {
    /// The keys every buyer of a batch shares (a batch is one slot's, or one Redis's): the
    /// first keys of the call, given once instead of once per buyer.
    enum BatchKey, count "S_COUNT" {
        /// The ledger's feed of the slot.
        Feed = "S_FEED",
        /// The slot's alert stream.
        Alerts = "S_ALERTS",
        /// The slot's low-stock index.
        Low = "S_LOW",
    }
}

layout! {
    /// The batch's header: the first arguments of the call.
    enum BatchArg, count "B_COUNT" {
        /// How many buyers follow.
        Buyers = "B_BUYERS",
        /// The cap of the movement history lists (and `MAXLEN ~` of the alert streams).
        Maxlen = "B_MAXLEN",
        /// '1' when the store carries the settings mark (`settings_mark`): a SKU's settings
        /// are read only where its stock hash has the mark. '0': read for every SKU.
        Marked = "B_MARKED",
    }
}

layout! {
    /// A buyer's header, before its quantities, pins and record arguments.
    enum BuyerArg, count "A_COUNT" {
        /// Its lines, n.
        Lines = "A_LINES",
        /// The optional arguments that follow its record arguments ([`Extras`]): '' for a
        /// plain take.
        Extras = "A_EXTRAS",
        /// How many record arguments follow its lines.
        RecordArgs = "A_RECORD_ARGS",
        /// The movement kind.
        Kind = "A_KIND",
        /// The order or reservation id.
        Reference = "A_REFERENCE",
        /// When, epoch ms.
        AtMs = "A_AT_MS",
        /// `order` (its units go to `sold`) or `reservation` (to `reserved`).
        Mode = "A_MODE",
        /// The reservation's deadline (0 for an order).
        ExpiresAt = "A_EXPIRES_AT",
    }
}

/// Which optional arguments follow a buyer's record arguments: its `A_EXTRAS` names them,
/// one letter each, in the order they come. A plain purchase has none; passing an empty
/// string for each instead costs Redis an argument to parse and a Lua string to make, per
/// buyer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Extras {
    /// `i`: the request's fingerprint, then how long its stored answer lives (ms).
    pub(super) idempotency: bool,
    /// `e`: its ledger entry.
    pub(super) entry: bool,
    /// `a`: the admissions its request presented.
    pub(super) admission: bool,
}

impl Extras {
    /// Each letter, in the order its arguments come, with how many arguments it brings.
    const LETTERS: [(char, usize); 3] = [('i', 2), ('e', 1), ('a', 1)];

    /// The letters of `A_EXTRAS`.
    pub(super) fn flags(self) -> &'static str {
        match (self.idempotency, self.entry, self.admission) {
            (false, false, false) => "",
            (true, false, false) => "i",
            (false, true, false) => "e",
            (false, false, true) => "a",
            (true, true, false) => "ie",
            (true, false, true) => "ia",
            (false, true, true) => "ea",
            (true, true, true) => "iea",
        }
    }
}

layout! {
    /// A buyer's keys after its stock and movement keys. The optional one comes last.
    enum BuyerKey, count "K_COUNT" {
        /// The order or reservation.
        Record = "K_RECORD",
        /// The expiry index of the take's slot (on one Redis, a batch's takes may be of
        /// different slots).
        Expiry = "K_EXPIRY",
        /// The stored answer; only with an Idempotency-Key.
        Idempotency = "K_IDEMPOTENCY",
    }
}

/// Where the script splices a line's allocations into the JSON this side wrote: right after
/// the line's quantity, which is an [`OrderLine`](crate::OrderLine)'s last field when it has
/// no allocations (the only form written for the script). No other object in those
/// documents has this key; `tests::every_line_ends_at_its_quantity` holds both to it.
pub(super) const LINE_QUANTITY: &str = ",\"quantity\":";

/// How the script answers a batch: one string, each buyer's fields joined by
/// [`FIELD_SEPARATOR`] and the buyers by [`BUYER_SEPARATOR`] (ASCII's unit and record
/// separators; no field can hold either: tags, numbers, ids, location names and stored answers
/// are printable). One RESP value a batch for the client to parse, where an array a buyer was
/// about four values a buyer.
pub(super) const BUYER_SEPARATOR: char = '\x1e';
/// See [`BUYER_SEPARATOR`].
pub(super) const FIELD_SEPARATOR: char = '\x1f';

/// The script's offsets, as Lua locals: each slot's 0-based offset in its part, and each
/// part's slot count; the text that marks a line's quantity ([`LINE_QUANTITY`]); and how
/// many arguments each letter of [`Extras`] brings (`EXTRA_ARGS`); the settings mark's field
/// and the settings it stands for (`MARK`, `SETTINGS`); the reply's separators.
pub(super) fn layout_header() -> String {
    let mut out = format!("local LINE_QUANTITY = '{LINE_QUANTITY}'\n");
    out.push_str(&format!(
        "local BUYER_SEPARATOR, FIELD_SEPARATOR = '\\{}', '\\{}'\n",
        u32::from(BUYER_SEPARATOR),
        u32::from(FIELD_SEPARATOR)
    ));
    let letters: Vec<String> = Extras::LETTERS.iter().map(|(c, n)| format!("{c} = {n}")).collect();
    out.push_str(&format!("local EXTRA_ARGS = {{{}}}\n", letters.join(", ")));
    let settings: Vec<String> = settings_mark::SETTINGS.iter().map(|f| format!("'{f}'")).collect();
    out.push_str(&format!(
        "local MARK, SETTINGS = '{}', {{{}}}\n",
        settings_mark::FIELD,
        settings.join(", ")
    ));
    for (names, count) in [
        (BatchKey::LUA, BatchKey::COUNT),
        (BatchArg::LUA, BatchArg::COUNT),
        (BuyerArg::LUA, BuyerArg::COUNT),
        (BuyerKey::LUA, BuyerKey::COUNT),
    ] {
        let offsets: Vec<String> = (0..names.len()).map(|i| i.to_string()).collect();
        out.push_str(&format!("local {} = {}\n", names.join(", "), offsets.join(", ")));
        out.push_str(&format!("local {count} = {}\n", names.len()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// The script and the declaration cannot drift: every `S_`/`B_`/`A_`/`K_` name the script
    /// uses is declared here, and every declared one is used.
    /// The splice's contract, from this side: in every document a take writes for the
    /// script (an order, a reservation's items, a ledger entry), each line's JSON ends with
    /// [`LINE_QUANTITY`], its number and `}`, and nothing else carries that key.
    #[test]
    fn every_line_ends_at_its_quantity() {
        use crate::domain::{ReservationId, Sku, UserId};
        use crate::journal::Entry;
        use crate::{Order, OrderLine, OrderSource};
        let lines = vec![
            OrderLine::new(Sku::parse("ps5").unwrap(), 3, Vec::new()),
            OrderLine::new(Sku::parse("pad").unwrap(), 12, Vec::new()),
        ];
        let order = Order {
            order_id: crate::domain::OrderId::generate_in(0),
            user_id: UserId::parse(&"u-1".into()).unwrap(),
            items: lines.clone(),
            created_at: 1,
            source: OrderSource::Checkout,
            reservation_id: Some(ReservationId::generate_in(0)),
            status: None,
            returns: Vec::new(),
        };
        let documents = [
            (serde_json::to_string(&order).unwrap(), 2),
            (serde_json::to_string(&lines).unwrap(), 2),
            (
                Entry::new(crate::domain::EntryKind::Checkout, crate::domain::Reference::Admin, 1)
                    .lines(lines.clone())
                    .order(&order)
                    .to_json(),
                4,
            ),
        ];
        for (json, expected) in documents {
            let at: Vec<usize> = json.match_indices(LINE_QUANTITY).map(|(i, _)| i).collect();
            assert_eq!(at.len(), expected, "{json}");
            for i in at {
                let rest = &json[i + LINE_QUANTITY.len()..];
                let digits = rest.chars().take_while(char::is_ascii_digit).count();
                assert!(digits > 0 && rest[digits..].starts_with('}'), "{json}");
            }
        }
        assert!(layout_header().contains(&format!("local LINE_QUANTITY = '{LINE_QUANTITY}'")));
    }

    #[test]
    fn the_script_uses_exactly_the_declared_layout() {
        let script = include_str!("../lua/take.lua");
        let code: String = script
            .lines()
            .map(|l| l.split("--").next().unwrap_or(""))
            .collect::<Vec<_>>()
            .join("\n");
        let used: BTreeSet<&str> = code
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .filter(|w| ["S_", "B_", "A_", "K_"].iter().any(|p| w.starts_with(p)))
            .collect();
        let header = layout_header();
        let declared: BTreeSet<&str> = BatchKey::LUA
            .iter()
            .chain(BatchArg::LUA)
            .chain(BuyerArg::LUA)
            .chain(BuyerKey::LUA)
            .chain([BatchKey::COUNT, BatchArg::COUNT, BuyerArg::COUNT, BuyerKey::COUNT].iter())
            .copied()
            .collect();
        for name in &declared {
            assert!(header.contains(name), "{name} is declared but not generated");
        }
        let undeclared: Vec<_> = used.difference(&declared).collect();
        assert!(
            undeclared.is_empty(),
            "the script uses undeclared slots: {undeclared:?}"
        );
        let unused: Vec<_> = declared
            .difference(&used)
            .filter(|n| !["B_COUNT", "K_COUNT"].contains(n))
            .collect();
        assert!(unused.is_empty(), "declared slots the script never reads: {unused:?}");
        assert_eq!(
            BuyerKey::ALL.last(),
            Some(&BuyerKey::Idempotency),
            "the optional key comes last"
        );
    }

    #[test]
    fn the_header_gives_each_slot_its_offset() {
        let header = layout_header();
        assert!(
            header.contains("local B_BUYERS, B_MAXLEN, B_MARKED = 0, 1, 2\nlocal B_COUNT = 3\n"),
            "{header}"
        );
        assert!(
            header.contains("local S_FEED, S_ALERTS, S_LOW = 0, 1, 2\nlocal S_COUNT = 3\n"),
            "{header}"
        );
        assert!(header.contains("local A_COUNT = 8\n"), "{header}");
        assert!(
            header.contains("local BUYER_SEPARATOR, FIELD_SEPARATOR = '\\30', '\\31'\n"),
            "{header}"
        );
        assert_eq!(BuyerArg::ALL.len(), BuyerArg::LUA.len());
        assert!(
            header.contains("local EXTRA_ARGS = {i = 2, e = 1, a = 1}\n"),
            "{header}"
        );
        assert!(
            header.contains(
                "local MARK, SETTINGS = 'opt', {'locs', 'low_threshold', 'reorder_point', 'sale', 'safety', 'pre'}\n"
            ),
            "{header}"
        );
    }

    /// A reply's fields are split at the separators, so none may hold one: they are control
    /// characters, which neither a location nor a purchase order (the only names a reply
    /// carries besides tags, numbers and ids) admits.
    #[test]
    fn no_name_in_a_reply_can_hold_a_separator() {
        for separator in [BUYER_SEPARATOR, FIELD_SEPARATOR] {
            assert!(separator.is_ascii_control());
            let name = format!("east{separator}1");
            assert!(crate::domain::Location::parse(&name, "location").is_err());
            assert!(crate::domain::PoRef::parse(&name, "purchase_order").is_err());
        }
    }

    /// Every combination of extras names its letters once each, in the order their
    /// arguments come, and a plain take names none.
    #[test]
    fn extras_name_their_arguments_in_order() {
        assert_eq!(Extras::default().flags(), "");
        let order: String = Extras::LETTERS.iter().map(|(c, _)| *c).collect();
        for bits in 0..8u8 {
            let extras = Extras {
                idempotency: bits & 1 != 0,
                entry: bits & 2 != 0,
                admission: bits & 4 != 0,
            };
            let expected: String = order
                .chars()
                .zip([extras.idempotency, extras.entry, extras.admission])
                .filter_map(|(c, on)| on.then_some(c))
                .collect();
            assert_eq!(extras.flags(), expected);
        }
    }
}
