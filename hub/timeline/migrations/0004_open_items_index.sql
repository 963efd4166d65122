-- The open-items gauge counts unfinished aggregates by process, stage and owner every few
-- seconds. Without an index that meant reading the whole state table (300k aggregates:
-- 120 ms a time, on the thread that also stores batches). The index holds only the open
-- ones, with the three columns the count groups by, so the count never visits the table.
CREATE INDEX timeline_state_open
    ON timeline_state (process, stage, owner)
    WHERE done = 0;
