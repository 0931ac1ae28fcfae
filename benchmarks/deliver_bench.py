"""Delivery worker against a loopback webhook receiver: events per second, fill-to-webhook delay.

Throughput: N events of one Enterprise user with one endpoint, delivered by ``deliver_pass`` with
the per-channel rate limit lifted (so the worker's own cost is measured; the default limit is
100 webhooks/s per worker). Delay: fills booked through DatabaseJournal.record_trade while the
worker loops every LOOP_S seconds (``python main.py deliver --loop --interval 1``), measured from
the trade's commit to the receiver's arrival. SQLite in a temporary folder.
"""

from __future__ import annotations

import os
import secrets
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

EVENTS = 2000
FILLS = 100
LOOP_S = 1.0
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"


def _setup(url: str):
    """An app on ``url``, an Enterprise user with an endpoint at a running receiver."""
    from saas import create_app
    from saas.config import TestConfig
    from saas.db import create_schema, make_engine
    from saas.extensions import db
    from tests.fixtures.database import gen_bot, gen_pair, gen_user
    from tests.fixtures.webhooks import WebhookReceiver
    from tests.saas.notify_helpers import add_endpoint

    engine = make_engine(url)
    create_schema(engine)  # at head, before the app checks the revision
    engine.dispose()
    app = create_app(TestConfig({"DATABASE_URL": url}))
    app.config["DELIVER_RATE_WEBHOOK"] = 1_000_000
    receiver = WebhookReceiver()
    threading.Thread(target=receiver.serve_forever, args=(0.01,), daemon=True).start()
    with app.app_context():
        user = gen_user(db.session, plan="enterprise", email_verified=True)
        bot = gen_bot(db.session, user)
        pair = gen_pair(db.session, bot)
        db.session.commit()
        db.session.refresh(user)
        db.session.expunge(user)
        ids = (bot.id, pair.id)
    _, receiver.secret = add_endpoint(app, user, receiver.url, now=datetime.now(UTC))
    return app, receiver, user, ids


def throughput(app, receiver, user) -> dict:
    """Events per second of one worker pass over EVENTS queued events."""
    from saas.services.notifications.worker import deliver_pass
    from tests.saas.notify_helpers import context, emit

    now = datetime.now(UTC)
    emit(app, user.id, "position_opened", now=now, count=EVENTS)
    started, cpu = time.perf_counter(), time.process_time()
    summary = deliver_pass(context(app), now)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    receiver.wait_for(EVENTS, timeout=60)
    assert summary.get("sent") == EVENTS, summary
    assert all(r["verified"] for r in receiver.received)
    return {
        "events": EVENTS,
        "seconds": round(elapsed, 2),
        "events_per_s": round(EVENTS / elapsed),
        # CPU of this process (worker and receiver threads): steadier than wall on a busy machine
        "cpu_ms_per_event": round(cpu / EVENTS * 1000, 2),
    }


def fill_delay(app, receiver, ids) -> dict:
    """p50/p95 from a fill's commit to its webhook, with the worker looping every LOOP_S."""
    from saas.extensions import db
    from saas.services.notifications.command import run_pass
    from saas.services.runs.journal import DatabaseJournal
    from tests.saas.notify_helpers import context
    from workflows.journal import TradeRecord

    bot_id, pair_id = ids
    ctx = context(app)
    stop = threading.Event()

    def loop():
        while not stop.is_set():
            run_pass(ctx, lambda exc: None, lambda: datetime.now(UTC))
            stop.wait(LOOP_S)

    already = len(receiver.received)
    worker = threading.Thread(target=loop, daemon=True)
    worker.start()
    committed: dict[str, float] = {}
    with app.app_context():
        journal = DatabaseJournal(db.engine, bot_id)
        for n in range(FILLS):
            cid = f"b{bot_id}-p{pair_id}-9-{n}"
            trade = TradeRecord(
                time=datetime.now(UTC),
                pair_key=str(pair_id),
                symbol="BTCUSDT",
                side="Long",
                action="ADD",
                qty=Decimal("0.001"),
                price=Decimal("30000"),
                fee=Decimal(0),
                realised_pnl=Decimal(0),
                client_order_id=cid,
                balance=Decimal(1000),
            )
            journal.record_trade(trade)
            committed[cid] = time.time()
            time.sleep(0.037)  # fills spread over a few loop periods
    receiver.wait_for(already + FILLS, timeout=60)
    stop.set()
    worker.join(timeout=10)
    delays = sorted(
        r["at"] - committed[r["body"]["data"]["client_order_id"]]
        for r in receiver.received[already:]
    )
    p95 = delays[int(len(delays) * 0.95) - 1]
    return {
        "fills": FILLS,
        "loop_interval_s": LOOP_S,
        "p50_ms": round(statistics.median(delays) * 1000),
        "p95_ms": round(p95 * 1000),
        "max_ms": round(delays[-1] * 1000),
    }


def bench_database(url: str) -> dict:
    """Both figures on one database."""
    app, receiver, user, ids = _setup(url)
    try:
        return {
            "throughput": throughput(app, receiver, user),
            "fill_to_webhook": fill_delay(app, receiver, ids),
        }
    finally:
        receiver.shutdown()
        receiver.server_close()
        from saas.extensions import db

        with app.app_context():
            db.engine.dispose()


def bench_postgresql() -> dict:
    """The PostgreSQL figures in a throw-away schema, or why they are missing."""
    import psycopg
    from sqlalchemy.engine import make_url

    base = os.environ.get("TEST_DATABASE_URL") or DEFAULT_PG
    libpq = make_url(base).set(drivername="postgresql").render_as_string(hide_password=False)
    schema = f"bench_{secrets.token_hex(4)}"
    try:
        with psycopg.connect(libpq, connect_timeout=3, autocommit=True) as connection:
            connection.execute(f'CREATE SCHEMA "{schema}"')
    except psycopg.Error as exc:
        return {"skipped": f"PostgreSQL not reachable at {base}: {str(exc).splitlines()[0]}"}
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        return bench_database(url.render_as_string(hide_password=False))
    finally:
        with psycopg.connect(libpq, autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA "{schema}" CASCADE')


def run() -> dict:
    """Both figures on SQLite and on PostgreSQL."""
    with tempfile.TemporaryDirectory() as folder:
        sqlite = bench_database(f"sqlite:///{Path(folder) / 'bench.db'}")
    return {"sqlite": sqlite, "postgresql": bench_postgresql()}


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
