#!/bin/sh
# Start the web app exactly as dcabot-web.service does, for hosts without systemd (containers,
# LXC). install.sh runs it there; by hand, as root:
#
#   setsid /opt/dcabot/current/deploy/run-web.sh >> /var/log/dcabot/web.log 2>&1 < /dev/null &
#
# Stop with `kill $(cat /run/dcabot/web.pid)` (gunicorn finishes its requests first). Settings:
# DCABOT_ENV_FILE (default /etc/dcabot/dcabot.env) and DCABOT_USER (default dcabot), as
# install.sh's --user; DCABOT_RUN_DIR moves /run/dcabot (tests only: the socket and
# PROMETHEUS_MULTIPROC_DIR follow it, GUNICORN_BIND in the env file must too).
# Each line below says which line of the unit it stands for.
set -eu
APP_DIR="$(cd "$(dirname "$0")/.." && pwd -L)"
ENV_FILE="${DCABOT_ENV_FILE:-/etc/dcabot/dcabot.env}"
APP_USER="${DCABOT_USER:-dcabot}"
RUN_DIR="${DCABOT_RUN_DIR:-/run/dcabot}"

[ -r "$ENV_FILE" ] || { echo "error: $ENV_FILE is missing (run deploy/install.sh first)" >&2; exit 1; }
# RuntimeDirectory=dcabot, RuntimeDirectoryMode=0750 (owned by User=, as systemd makes it)
install -d -o "$APP_USER" -g "$APP_USER" -m 0750 "$RUN_DIR"
# WorkingDirectory=/opt/dcabot/current
cd "$APP_DIR"
# UMask=0027
umask 0027
# The process that execs into gunicorn's master keeps this pid (the unit's MAINPID).
echo $$ > "$RUN_DIR/web.pid"
# User=, Group=, a clean environment; Environment=PROMETHEUS_MULTIPROC_DIR=/run/dcabot/metrics;
# EnvironmentFile=/etc/dcabot/dcabot.env (parsed by python-dotenv, as the runner and
# dcabot-flask parse it); ExecStart=/opt/dcabot/current/.venv/bin/gunicorn --config
# /opt/dcabot/current/deploy/gunicorn.conf.py
exec setpriv --reuid="$APP_USER" --regid="$APP_USER" --init-groups --reset-env -- \
  env PROMETHEUS_MULTIPROC_DIR="$RUN_DIR/metrics" \
  "$APP_DIR/.venv/bin/dotenv" -f "$ENV_FILE" run --no-override -- \
  "$APP_DIR/.venv/bin/gunicorn" --config "$APP_DIR/deploy/gunicorn.conf.py"
