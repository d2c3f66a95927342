-- v1.5, preorders: units sold or held against incoming stock, still waiting for their
-- purchase order. Existing rows keep their meaning: nothing before preorders moved them.
ALTER TABLE movements ADD COLUMN d_preordered bigint NOT NULL DEFAULT 0;
