"""Gunicorn settings for the web app behind nginx (read by deploy/dcabot-web.service)."""

import multiprocessing
import os


def setting(name: str, default):
    """An environment setting, blank meaning the default."""
    value = os.environ.get(name, "").strip()
    return type(default)(value) if value else default


# nginx proxies to this socket; systemd creates /run/dcabot (RuntimeDirectory=dcabot).
bind = setting("GUNICORN_BIND", "unix:/run/dcabot/gunicorn.sock")
umask = 0o007  # the socket is group-writable so nginx (in the dcabot group) can connect
# Requests are short database-bound page renders: a few threaded workers per core.
workers = setting("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1)
worker_class = "gthread"
threads = setting("GUNICORN_THREADS", 4)
# Slow exchange or Stripe calls must not pin a worker forever; nginx waits 60 s as well.
timeout = setting("GUNICORN_TIMEOUT", 60)
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then so a slow leak never grows without bound.
max_requests = 2000
max_requests_jitter = 200
# nginx is the only client and sets X-Forwarded-*; the app trusts one proxy hop (ProxyFix).
forwarded_allow_ips = "127.0.0.1"
accesslog = "-"
errorlog = "-"
loglevel = setting("GUNICORN_LOG_LEVEL", "info")
proc_name = "dcabot-web"
wsgi_app = "saas:create_app()"


def on_starting(server):
    """Refuse per-worker rate-limit counters; empty the Prometheus multiprocess folder."""
    # Workers inherit this, so the app knows how many processes share its counters.
    os.environ["DCABOT_WEB_WORKERS"] = str(server.cfg.workers)
    from saas import environment
    from saas.config import PRODUCTION, ConfigError, check_rate_limit_storage

    settings = environment()
    try:
        check_rate_limit_storage(
            (settings.get("DCABOT_ENV") or PRODUCTION).strip().lower(),
            settings.get("RATELIMIT_STORAGE_URI") or "memory://",
            server.cfg.workers,
        )
    except ConfigError as exc:
        server.log.error("dcabot: %s", exc)
        raise SystemExit(1) from None
    # Start each boot with an empty Prometheus multiprocess folder (stale files skew counters).
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        os.makedirs(folder, exist_ok=True)
        for name in os.listdir(folder):
            if name.endswith(".db"):
                os.remove(os.path.join(folder, name))


def child_exit(server, worker):
    """Drop a dead worker's live gauges from the shared metrics."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
