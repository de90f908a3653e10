-- Schema v9: two indexes of `events` hold only the rows their queries look for, so that storing
-- and linking an event (the receiver's single writer thread) touch four fewer index entries.
-- - By subject: queries always name a subject (`subject_id = ?` / `IN (…)`), never NULL; before,
--   every event was first indexed under NULL, then moved when linked.
-- - Waiting for their customer: only `unlinked` events are looked up (events::link_waiting);
--   before, every event with a customer id was indexed while pending, then removed.
DROP INDEX events_by_subject;
CREATE INDEX events_by_subject ON events (subject_id, occurred_at) WHERE subject_id IS NOT NULL;
DROP INDEX events_waiting_for_customer;
CREATE INDEX events_waiting_for_customer ON events (processor_id, customer_ref)
    WHERE status = 'unlinked' AND customer_ref IS NOT NULL;
