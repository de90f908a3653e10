-- Schema v8: the deliveries log keeps only its time index. The log is capped at 20,000 rows
-- (store::deliveries::prune), so its other queries (rejected deliveries for the dashboard, the
-- rejected-first list, a processor's deletion) read the whole table in a few milliseconds,
-- while every webhook paid for two more index writes in the receiver's single writer thread.
DROP INDEX deliveries_by_processor;
DROP INDEX deliveries_by_status;
