-- Who answers for a breach and who hears of it, so a department can list its breaches.
ALTER TABLE timeline_breaches ADD COLUMN owner TEXT;
ALTER TABLE timeline_breaches ADD COLUMN escalate_to TEXT;
ALTER TABLE timeline_breaches ADD COLUMN order_id TEXT;
ALTER TABLE timeline_breaches ADD COLUMN customer_id TEXT;
CREATE INDEX timeline_breaches_owner ON timeline_breaches (owner, deadline);
CREATE INDEX timeline_breaches_escalation ON timeline_breaches (escalate_to, deadline);
