-- DueDeliveries and NextDeliveryAt pick each bin's oldest pending delivery
-- with a correlated min(id) per bin. Without this index that subquery scans
-- every delivery ever made, once per candidate row.
CREATE INDEX deliveries_pending_bin ON deliveries(bin_id, id) WHERE state = 'pending';
