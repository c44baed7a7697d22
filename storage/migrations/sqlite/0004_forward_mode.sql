-- A bin's auto-forward mode: 'in_order' delivers one at a time in capture
-- order; 'independent' delivers several at once, in no particular order.
ALTER TABLE bins ADD COLUMN forward_mode TEXT NOT NULL DEFAULT 'in_order';

-- Workers read a bin's pending deliveries through deliveries_pending_bin;
-- nothing looks pending deliveries up by time across bins any more, and
-- every capture with auto-forward on paid for keeping this index.
DROP INDEX IF EXISTS deliveries_pending;
