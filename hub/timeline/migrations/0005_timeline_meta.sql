-- Facts about the stored state as a whole. 'states' holds the fingerprint of the processes
-- configuration and of the code's state rules the state and clock rows were computed
-- under: a timeline service that finds another one recomputes every row (see
-- TimelineStore.states_current).
CREATE TABLE timeline_meta (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
