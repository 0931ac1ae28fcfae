# shellcheck shell=bash
# install.sh's services: the dcabot-flask helper, gunicorn, nginx and cron, with or without systemd.

install_services() {
  install_wrapper
  choose_certificate
  install_web
  install_nginx
  install_cron
}

install_wrapper() {
  # `dcabot-flask CMD`: flask --app saas of the live release with its settings, as the service user.
  cat > /usr/local/bin/dcabot-flask <<WRAPPER
#!/bin/sh
# flask --app saas with $ENV_FILE, as $APP_USER (written by deploy/install.sh).
cd "$CURRENT" || exit 1
exec runuser -u "$APP_USER" -- "$CURRENT/.venv/bin/dotenv" -f "$ENV_FILE" run --no-override -- \\
  "$CURRENT/.venv/bin/flask" --app saas "\$@"
WRAPPER
  chmod 0755 /usr/local/bin/dcabot-flask
}

install_web() {
  render dcabot-web.service > /etc/systemd/system/dcabot-web.service
  if have_systemd; then
    log "restarting dcabot-web"
    systemctl daemon-reload
    systemctl enable dcabot-web >/dev/null 2>&1
    systemctl restart dcabot-web
  else
    log "restarting gunicorn with deploy/run-web.sh (no systemd here)"
    stop_web_direct
    start_web_direct
  fi
}

web_pid() {
  local pid
  pid="$(cat "$RUN_DIR/web.pid" 2>/dev/null || true)"
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then echo "$pid"; fi
}

stop_web_direct() {
  local pid
  pid="$(web_pid)"
  [ -n "$pid" ] || return 0
  kill -TERM "$pid"
  # gunicorn's graceful_timeout is 30 s; the unit waits 35 (TimeoutStopSec).
  for _ in $(seq 1 70); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.5; done
  kill -KILL "$pid" 2>/dev/null || true
}

start_web_direct() {
  # run-web.sh is the unit's ExecStart with its environment, user and runtime folder.
  local i
  DCABOT_ENV_FILE="$ENV_FILE" DCABOT_USER="$APP_USER" \
    setsid "$CURRENT/deploy/run-web.sh" >>"$LOG_DIR/web.log" 2>&1 </dev/null &
  for i in $(seq 1 60); do
    if [ -S "$SOCKET" ] && [ -n "$(web_pid)" ]; then return 0; fi
    if [ "$i" -gt 4 ] && [ -z "$(web_pid)" ]; then break; fi
    sleep 0.5
  done
  [ -n "$(web_pid)" ] || die "gunicorn did not start: $(tail -n1 "$LOG_DIR/web.log" 2>/dev/null)"
}

choose_certificate() {
  CERT="/etc/letsencrypt/live/$DOMAIN/fullchain.pem"
  CERT_KEY="/etc/letsencrypt/live/$DOMAIN/privkey.pem"
  [ "$SKIP_NGINX" -eq 1 ] && return 0
  if [ ! -f "$CERT" ]; then
    # A self-signed stand-in so nginx starts; certbot replaces it (docs/DEPLOYMENT.md).
    CERT="$ENV_DIR/tls/selfsigned.pem"
    CERT_KEY="$ENV_DIR/tls/selfsigned.key"
    if [ ! -f "$CERT" ]; then
      warn "no Let's Encrypt certificate for $DOMAIN yet: using a self-signed one"
      install -d -m 0700 "$ENV_DIR/tls"
      openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=$DOMAIN" \
        -keyout "$CERT_KEY" -out "$CERT" 2>/dev/null
    fi
  fi
}

install_nginx() {
  [ "$SKIP_NGINX" -eq 1 ] && return 0
  log "nginx site for $DOMAIN"
  render nginx-dcabot.conf > /etc/nginx/sites-available/dcabot
  ln -sf /etc/nginx/sites-available/dcabot /etc/nginx/sites-enabled/dcabot
  if [ -L /etc/nginx/sites-enabled/default ]; then rm /etc/nginx/sites-enabled/default; fi
  install -d -m 0755 /var/www/html
  nginx -t -q || die "nginx -t rejected the site (above)"
  if have_systemd; then systemctl enable nginx >/dev/null 2>&1; systemctl reload-or-restart nginx
  elif pgrep -x nginx >/dev/null; then nginx -s reload; else nginx; fi
}

install_cron() {
  log "crontab /etc/cron.d/dcabot (run-due every minute, from $CURRENT)"
  (cd "$CURRENT" && "$CURRENT/.venv/bin/python" -c '
import sys
from pathlib import Path
from saas.ops.cli import crontab_text
python, main, env_file, log, user = sys.argv[1:]
print(crontab_text(python, Path(main), env_file, log, user), end="")
' "$CURRENT/.venv/bin/python3" "$CURRENT/main.py" "$ENV_FILE" "$LOG_DIR/runner.log" "$APP_USER") \
    > /etc/cron.d/dcabot.new
  chmod 0644 /etc/cron.d/dcabot.new
  mv /etc/cron.d/dcabot.new /etc/cron.d/dcabot
  sed -e "s#/var/log/dcabot#$LOG_DIR#g" -e "s#su dcabot dcabot#su $APP_USER $APP_USER#" \
      -e "s#create 0640 dcabot dcabot#create 0640 $APP_USER $APP_USER#" \
      "${TEMPLATE_DIR:-$SRC_DIR/deploy}/logrotate-dcabot" > /etc/logrotate.d/dcabot
  rm -f "$ENV_DIR/cron.paused"
  if have_systemd; then systemctl enable --now cron >/dev/null 2>&1
  elif ! pgrep -x cron >/dev/null; then log "starting cron (no systemd here)"; cron; fi
}

pause_cron() {
  # No runner pass starts while the schema goes back; resume_cron or install_cron restores it.
  if [ -f /etc/cron.d/dcabot ]; then mv /etc/cron.d/dcabot "$ENV_DIR/cron.paused"; fi
}

resume_cron() {
  if [ -f "$ENV_DIR/cron.paused" ]; then mv "$ENV_DIR/cron.paused" /etc/cron.d/dcabot; fi
}
