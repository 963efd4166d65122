-- Recomputing state reads, per touched aggregate, only the type, time and aggregate ids
-- of its events: the indexes carry those columns, so the reads never visit the table.
-- Most events belong to no ticket: the ticket index holds only those that do (queries ask
-- for ticket_id IN (...), which implies ticket_id IS NOT NULL, so both databases use it).
DROP INDEX timeline_events_order;
DROP INDEX timeline_events_customer;
DROP INDEX timeline_events_ticket;
CREATE INDEX timeline_events_order
    ON timeline_events (order_id, sort_time, type_rank, ce_id, type, customer_id);
CREATE INDEX timeline_events_customer
    ON timeline_events (customer_id, sort_time, type_rank, ce_id, type, order_id);
CREATE INDEX timeline_events_ticket
    ON timeline_events (ticket_id, sort_time, type_rank, ce_id, type, order_id, customer_id)
    WHERE ticket_id IS NOT NULL;
