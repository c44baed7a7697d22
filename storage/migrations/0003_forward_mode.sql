-- A bin's auto-forward mode: 'in_order' delivers one at a time in capture
-- order; 'independent' delivers several at once, in no particular order.
ALTER TABLE bins ADD COLUMN forward_mode TEXT NOT NULL DEFAULT 'in_order';
