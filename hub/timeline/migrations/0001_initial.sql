-- Timeline store, first version. Plain SQL that SQLite and PostgreSQL both accept.
-- Times are fixed-width UTC text (YYYY-MM-DDTHH:MM:SS.ffffffZ): they sort as instants.

CREATE TABLE timeline_events (
    ce_id       TEXT PRIMARY KEY,
    sort_time   TEXT NOT NULL,
    type_rank   INTEGER NOT NULL,
    type        TEXT NOT NULL,
    source      TEXT NOT NULL,
    subject     TEXT,
    order_id    TEXT,
    customer_id TEXT,
    ticket_id   TEXT,
    attributes  TEXT NOT NULL,
    data        TEXT NOT NULL
);
CREATE INDEX timeline_events_order ON timeline_events (order_id, sort_time, type_rank, ce_id);
CREATE INDEX timeline_events_customer ON timeline_events (customer_id, sort_time, type_rank, ce_id);
CREATE INDEX timeline_events_ticket ON timeline_events (ticket_id, sort_time, type_rank, ce_id);

-- customer.merged: the latest merge (by event time, then ce_id) of an id wins.
CREATE TABLE timeline_merges (
    merged_id   TEXT PRIMARY KEY,
    survivor_id TEXT NOT NULL,
    sort_time   TEXT NOT NULL,
    ce_id       TEXT NOT NULL
);
CREATE INDEX timeline_merges_survivor ON timeline_merges (survivor_id);

-- Derived state per aggregate (kind: order, ticket, customer), recomputed from events.
CREATE TABLE timeline_state (
    kind          TEXT NOT NULL,
    agg_id        TEXT NOT NULL,
    process       TEXT,
    stage         TEXT,
    owner         TEXT,
    waiting_since TEXT,
    done          INTEGER NOT NULL,
    order_id      TEXT,
    customer_id   TEXT,
    updated_time  TEXT NOT NULL,
    state         TEXT NOT NULL,
    PRIMARY KEY (kind, agg_id)
);
CREATE INDEX timeline_state_recent ON timeline_state (kind, updated_time);
CREATE INDEX timeline_state_customer ON timeline_state (customer_id);
CREATE INDEX timeline_state_order ON timeline_state (order_id);

-- SLA clocks, derived with the state; the ticker reads the open ones past their deadline.
CREATE TABLE timeline_clocks (
    kind        TEXT NOT NULL,
    agg_id      TEXT NOT NULL,
    rule        TEXT NOT NULL,
    process     TEXT NOT NULL,
    status      TEXT NOT NULL,
    deadline    TEXT NOT NULL,
    order_id    TEXT,
    customer_id TEXT,
    ticket_id   TEXT,
    clock       TEXT NOT NULL,
    PRIMARY KEY (kind, agg_id, rule)
);
CREATE INDEX timeline_clocks_due ON timeline_clocks (status, deadline);

-- Breaches emitted: one row per (aggregate, rule) ever, so one sla.breached per clock.
CREATE TABLE timeline_breaches (
    kind       TEXT NOT NULL,
    agg_id     TEXT NOT NULL,
    rule       TEXT NOT NULL,
    process    TEXT NOT NULL,
    event_id   TEXT NOT NULL,
    deadline   TEXT NOT NULL,
    emitted_at TEXT NOT NULL,
    PRIMARY KEY (kind, agg_id, rule)
);
