-- Where each order line's units were drawn from (stock per location): a JSON array of
-- {"location", "quantity"}, or NULL when the whole line came from the implicit `default`.
ALTER TABLE order_lines ADD COLUMN allocations jsonb;
