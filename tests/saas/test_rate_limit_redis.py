"""Rate limits kept in Redis (RATELIMIT_STORAGE_URI) hold across app instances, as workers share."""

import socket
import uuid

import pytest

from saas import create_app
from saas.config import TestConfig
from saas.extensions import db
from tests.fixtures.web import csrf_post

REDIS = ("127.0.0.1", 6379)


@pytest.fixture
def redis_uri():
    """A Redis database URI on the local server, or a skip saying how to get one."""
    try:
        socket.create_connection(REDIS, timeout=0.5).close()
    except OSError:
        pytest.skip("no Redis on 127.0.0.1:6379 (apt-get install redis-server) for this test")
    import redis  # noqa: PLC0415

    client = redis.Redis(*REDIS, db=15)
    yield "redis://127.0.0.1:6379/15"
    client.flushdb()
    client.close()


def worker(sqlite_url, encryption_key, redis_uri):
    """One app instance, as one gunicorn worker would build it."""
    config = TestConfig(
        {
            "DATABASE_URL": sqlite_url,
            "ENCRYPTION_KEY": encryption_key,
            "RATELIMIT_STORAGE_URI": redis_uri,
        }
    )
    app = create_app(config)
    app.config["REGISTER_LIMIT"] = "2 per hour"
    app.config["RATELIMIT_KEY_PREFIX"] = uuid.uuid4().hex  # no clash with other runs
    return app


def test_two_workers_share_the_register_limit_through_redis(sqlite_url, encryption_key, redis_uri):
    first = worker(sqlite_url, encryption_key, redis_uri)
    second = worker(sqlite_url, encryption_key, redis_uri)
    second.config["RATELIMIT_KEY_PREFIX"] = first.config["RATELIMIT_KEY_PREFIX"]
    try:
        codes = []
        for number, app in enumerate([first, second, first, second]):
            with app.test_client() as client:
                response = csrf_post(
                    client,
                    "/auth/register",
                    {
                        "email": f"p{number}@example.com",
                        "password": "a long enough passphrase 1",
                        "confirm": "a long enough passphrase 1",
                    },
                )
                codes.append(response.status_code)
        assert codes == [200, 200, 429, 429]
    finally:
        for app in (first, second):
            with app.app_context():
                for engine in db.engines.values():
                    engine.dispose()
