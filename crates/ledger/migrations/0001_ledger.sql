-- The ledger: what Redis decided, kept as books. Written only by stockwatch's projector;
-- `orders`, `order_lines`, `order_id`, `sku` and `quantity` are a contract other tools query.

-- Every feed entry projected, by where it came from: the one key that makes a replay a
-- no-op. (slot, entry_id) is unique, since each slot has one feed.
CREATE TABLE ledger_entries (
    slot         integer     NOT NULL,
    entry_id     text        NOT NULL,
    kind         text        NOT NULL,
    ref          text        NOT NULL,
    at           timestamptz NOT NULL,
    projected_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (slot, entry_id)
);

CREATE TABLE orders (
    order_id       uuid        PRIMARY KEY,
    user_id        text        NOT NULL,
    source         text        NOT NULL CHECK (source IN ('purchase', 'checkout', 'reservation')),
    reservation_id uuid,
    created_at     timestamptz NOT NULL,
    slot           integer     NOT NULL,
    entry_id       text        NOT NULL
);
CREATE INDEX orders_created_at ON orders (created_at);
CREATE INDEX orders_user_id ON orders (user_id);

CREATE TABLE order_lines (
    order_id uuid    NOT NULL REFERENCES orders (order_id),
    line_no  integer NOT NULL,
    sku      text    NOT NULL,
    quantity bigint  NOT NULL CHECK (quantity > 0),
    PRIMARY KEY (order_id, line_no)
);
CREATE INDEX order_lines_sku ON order_lines (sku);

-- One row per SKU a change moved, with what it did to each counter: summed per SKU they
-- give Redis's counters (`stockwatch verify --ledger` checks that).
CREATE TABLE movements (
    slot        integer     NOT NULL,
    entry_id    text        NOT NULL,
    line_no     integer     NOT NULL,
    kind        text        NOT NULL,
    sku         text        NOT NULL,
    quantity    bigint      NOT NULL,
    ref         text        NOT NULL,
    at          timestamptz NOT NULL,
    d_available bigint      NOT NULL,
    d_reserved  bigint      NOT NULL,
    d_sold      bigint      NOT NULL,
    d_received  bigint      NOT NULL,
    PRIMARY KEY (slot, entry_id, line_no)
);
CREATE INDEX movements_sku_at ON movements (sku, at);

-- Each reservation as its latest change left it. A reservation's changes all come from one
-- slot's feed, so (entry_ms, entry_seq) orders them even when projectors commit out of order.
CREATE TABLE reservations (
    reservation_id uuid        PRIMARY KEY,
    user_id        text        NOT NULL,
    status         text        NOT NULL CHECK (status IN ('active', 'confirmed', 'cancelled', 'expired')),
    items          jsonb       NOT NULL,
    expires_at     timestamptz NOT NULL,
    created_at     timestamptz NOT NULL,
    order_id       uuid,
    saga_parent    uuid,
    updated_at     timestamptz NOT NULL,
    entry_ms       bigint      NOT NULL,
    entry_seq      bigint      NOT NULL
);

-- Every change of every reservation, in feed order.
CREATE TABLE reservation_transitions (
    slot           integer     NOT NULL,
    entry_id       text        NOT NULL,
    reservation_id uuid        NOT NULL,
    kind           text        NOT NULL,
    status         text        NOT NULL,
    expires_at     timestamptz NOT NULL,
    at             timestamptz NOT NULL,
    PRIMARY KEY (slot, entry_id)
);
CREATE INDEX reservation_transitions_id ON reservation_transitions (reservation_id, at);
