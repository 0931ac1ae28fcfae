# dcabot in a container: one image for the web app and the runner (docs/DEPLOYMENT.md,
# "Containers"). docker-compose.yml runs it with PostgreSQL and Redis.
FROM python:3.11-slim-bookworm

ENV PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

# pg_dump / pg_restore for deploy/backup.sh and deploy/restore.sh run from the container.
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-client \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --user-group --home-dir /var/lib/dcabot --create-home \
       --shell /usr/sbin/nologin dcabot \
    && install -d -o dcabot -g dcabot -m 0750 /run/dcabot /var/lib/dcabot

# The same layout as deploy/install.sh: the code in /opt/dcabot/current, its venv in .venv.
WORKDIR /opt/dcabot/current
COPY requirements.txt ./
RUN python -m venv .venv && .venv/bin/pip install -r requirements.txt
COPY . .
RUN .venv/bin/python -m compileall -q -x '/\.venv/|/tests/' . >/dev/null

USER dcabot
ENV PATH=/opt/dcabot/current/.venv/bin:$PATH \
    PROMETHEUS_MULTIPROC_DIR=/run/dcabot/metrics \
    GUNICORN_BIND=0.0.0.0:8000 \
    RUNNER_STATE_FILE=/var/lib/dcabot/runner-state.json \
    DCABOT_ENV=production
EXPOSE 8000
ENTRYPOINT ["deploy/docker-entrypoint.sh"]
CMD ["web"]
