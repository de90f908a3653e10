-- Schema v7: the deadline reminders already shown, so that one is shown once per request, due
-- date and threshold (7 days, 2 days, overdue), across restarts of the app.
CREATE TABLE reminders_shown (
    request_id INTEGER NOT NULL REFERENCES requests (id) ON DELETE CASCADE,
    -- The due date the reminder was about (an extension moves it: reminders start again).
    due_at     INTEGER NOT NULL,
    -- 7, 2, or -1 for overdue.
    threshold  INTEGER NOT NULL,
    shown_at   INTEGER NOT NULL,
    PRIMARY KEY (request_id, due_at, threshold)
) WITHOUT ROWID;
