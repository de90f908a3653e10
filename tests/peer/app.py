"""Reference peer for the ingestion benchmark (`make bench`).

A conventional Stripe webhook receiver, written the way the Stripe docs suggest:
Flask, the official `stripe` library's `Webhook.construct_event` for signature
checking, and sqlite3 with the same durability as Privacy Desk (WAL,
synchronous=FULL, one commit per request, 200 only after the commit).

Environment:
  STRIPE_WEBHOOK_SECRET  the endpoint signing secret (whsec_...)     [required]
  PEER_DB                path of the SQLite database (default ./peer.db)

Run (what the benchmark does; see docs/benchmarks.md for the worker choice):
  gunicorn --chdir tests/peer --workers 5 --worker-class sync \
           --bind 127.0.0.1:PORT app:app
"""

import os
import sqlite3
import threading

import stripe
from flask import Flask, request

SECRET = os.environ["STRIPE_WEBHOOK_SECRET"]
DB_PATH = os.environ.get("PEER_DB", "peer.db")

app = Flask(__name__)


def _connect() -> sqlite3.Connection:
    # isolation_level=None: explicit BEGIN/COMMIT below, one transaction per request.
    conn = sqlite3.connect(DB_PATH, timeout=30, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA busy_timeout=30000")
    conn.execute(
        """CREATE TABLE IF NOT EXISTS events (
               id INTEGER PRIMARY KEY,
               event_id TEXT NOT NULL UNIQUE,
               type TEXT NOT NULL,
               created INTEGER,
               raw_body BLOB NOT NULL,
               received_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
           )"""
    )
    return conn


_local = threading.local()


def db() -> sqlite3.Connection:
    # One connection per worker thread (per process with sync workers), reused across
    # requests, as any reasonable production app does; opening SQLite per request would be
    # an unfair handicap. sqlite3 connections must not be shared between threads.
    conn = getattr(_local, "conn", None)
    if conn is None:
        conn = _connect()
        _local.conn = conn
    return conn


# Create the schema once at import (in each worker, or once in the master with
# --preload); connections are opened lazily, after the fork.
_connect().close()


@app.post("/webhooks/stripe")
def stripe_webhook():
    payload = request.get_data()
    sig_header = request.headers.get("Stripe-Signature")
    try:
        event = stripe.Webhook.construct_event(payload, sig_header, SECRET)
    except ValueError:
        return {"outcome": "rejected", "reason": "invalid payload"}, 400
    except stripe.SignatureVerificationError:
        return {"outcome": "rejected", "reason": "invalid signature"}, 400

    # construct_event returns a stripe.Event (attribute access, not a dict).
    created = event["created"] if isinstance(event["created"], int) else None
    conn = db()
    conn.execute("BEGIN IMMEDIATE")
    try:
        cur = conn.execute(
            "INSERT OR IGNORE INTO events (event_id, type, created, raw_body) VALUES (?, ?, ?, ?)",
            (event.id, event.type, created, payload),
        )
        conn.execute("COMMIT")
    except Exception:
        conn.execute("ROLLBACK")
        raise
    outcome = "accepted" if cur.rowcount == 1 else "duplicate"
    return {"outcome": outcome, "reason": None}, 200


@app.errorhandler(404)
def not_found(_e):
    return {"outcome": "not_found", "reason": None}, 404


if __name__ == "__main__":  # handy for a manual check: python app.py
    app.run(host="127.0.0.1", port=int(os.environ.get("PORT", "8788")))
