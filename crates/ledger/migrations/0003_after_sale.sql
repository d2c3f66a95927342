-- v1.5, after the sale: damaged stock, and the returns and cancellations of orders.
-- Existing rows keep their meaning: nothing before v1.5 moved `damaged`.
ALTER TABLE movements ADD COLUMN d_damaged bigint NOT NULL DEFAULT 0;

-- Every line of every return (a cancellation is the return of every line, `cancel` true),
-- as the order's own transaction recorded it. Summed per SKU and subtracted from
-- `order_lines`, they give what orders still sell.
CREATE TABLE return_lines (
    return_id   uuid        NOT NULL,
    line_no     integer     NOT NULL,
    order_id    uuid        NOT NULL,
    cancel      boolean     NOT NULL,
    sku         text        NOT NULL,
    quantity    bigint      NOT NULL CHECK (quantity > 0),
    disposition text        NOT NULL CHECK (disposition IN ('restock', 'damaged')),
    location    text,
    -- the locations whose sales the units undo: [{"location","quantity"}]
    taken_from  jsonb       NOT NULL,
    at          timestamptz NOT NULL,
    PRIMARY KEY (return_id, line_no)
);
CREATE INDEX return_lines_order_id ON return_lines (order_id);
CREATE INDEX return_lines_sku ON return_lines (sku);
