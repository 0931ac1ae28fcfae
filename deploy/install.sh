#!/usr/bin/env bash
# Set up (or upgrade) dcabot on a Debian 12 / Ubuntu 22.04+ server, from this checkout.
#
#   sudo deploy/install.sh --domain bots.example.com
#
# Idempotent: run it again after pulling a new version (it syncs the code, updates the
# packages, applies the schema migrations and reloads the services; secrets and data are kept).
# Steps: packages, user, folders, code, venv, env file, PostgreSQL role and database, schema
# migrations (`flask --app saas db upgrade`), systemd unit, nginx site, crontab, logrotate. docs/DEPLOYMENT.md
# explains each one and what to do after (TLS certificate, admin account, backups).
set -euo pipefail

DOMAIN=""
APP_DIR=/opt/dcabot
APP_USER=dcabot
ENV_DIR=/etc/dcabot
STATE_DIR=/var/lib/dcabot
LOG_DIR=/var/log/dcabot
DB_NAME=dcabot
DB_USER=dcabot
SKIP_NGINX=0
SKIP_PACKAGES=0
SRC_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

usage() {
  cat <<EOF
usage: sudo $0 --domain HOST [--app-dir DIR] [--user NAME] [--db-name NAME] [--db-user NAME]
                 [--skip-nginx] [--skip-packages]
  --domain HOST     public host name nginx serves (required unless --skip-nginx)
  --app-dir DIR     where the code and its venv live (default $APP_DIR)
  --user NAME       system user the web app and the bots run as (default $APP_USER)
  --db-name NAME    PostgreSQL database (default $DB_NAME); --db-user its owner role ($DB_USER)
  --skip-nginx      leave nginx alone (another proxy fronts gunicorn's socket)
  --skip-packages   do not apt-get install (the packages are already there)
EOF
}

while [ $# -gt 0 ]; do
  case "$1" in
    --domain) DOMAIN="$2"; shift 2 ;;
    --app-dir) APP_DIR="$2"; shift 2 ;;
    --user) APP_USER="$2"; shift 2 ;;
    --db-name) DB_NAME="$2"; shift 2 ;;
    --db-user) DB_USER="$2"; shift 2 ;;
    --skip-nginx) SKIP_NGINX=1; shift ;;
    --skip-packages) SKIP_PACKAGES=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "unknown option: $1" >&2; usage >&2; exit 2 ;;
  esac
done

ENV_FILE="$ENV_DIR/dcabot.env"
VENV="$APP_DIR/.venv"
SOCKET=/run/dcabot/gunicorn.sock

log() { printf '==> %s\n' "$*"; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }
have_systemd() { [ -d /run/systemd/system ]; }
as_postgres() { runuser -u postgres -- "$@"; }

check_input() {
  [ "$(id -u)" -eq 0 ] || die "run as root (sudo $0 ...)"
  if [ "$SKIP_NGINX" -eq 0 ] && [ -z "$DOMAIN" ]; then
    die "--domain is required (or --skip-nginx)"
  fi
  case "$DB_NAME$DB_USER$APP_USER" in
    *[!a-z0-9_]*) die "user, database and role names may use a-z, 0-9 and _ only" ;;
  esac
}

install_packages() {
  [ "$SKIP_PACKAGES" -eq 1 ] && return
  log "installing packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq python3 python3-venv postgresql postgresql-client cron rsync openssl \
    logrotate ca-certificates
  if [ "$SKIP_NGINX" -eq 0 ]; then apt-get install -y -qq nginx; fi
  python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
    || die "dcabot needs Python 3.11 or newer (this is $(python3 --version))"
}

create_user() {
  if ! id -u "$APP_USER" >/dev/null 2>&1; then
    log "creating system user $APP_USER"
    useradd --system --user-group --home-dir "$STATE_DIR" --shell /usr/sbin/nologin "$APP_USER"
  fi
  # nginx reaches the gunicorn socket through the group.
  if id -u www-data >/dev/null 2>&1; then usermod -aG "$APP_USER" www-data; fi
  install -d -o "$APP_USER" -g "$APP_USER" -m 0750 "$STATE_DIR" "$LOG_DIR"
  install -d -o root -g "$APP_USER" -m 0750 "$ENV_DIR"
}

sync_code() {
  if [ "$SRC_DIR" != "$APP_DIR" ]; then
    log "copying the code to $APP_DIR"
    install -d -m 0755 "$APP_DIR"
    rsync -a --delete --exclude .git --exclude .venv --exclude instance --exclude .dcabot \
      --exclude __pycache__ --exclude '*.pyc' --exclude .env "$SRC_DIR/" "$APP_DIR/"
  fi
  # The code belongs to root: the service user can read it but never change it.
  chown -R root:root "$APP_DIR"
  chmod -R u+rwX,go+rX,go-w "$APP_DIR"
}

build_venv() {
  local stamp="$VENV/.requirements.sha256" want
  [ -x "$VENV/bin/python" ] || { log "creating $VENV"; python3 -m venv "$VENV"; }
  want="$(sha256sum "$APP_DIR/requirements.txt" | cut -d' ' -f1)"
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    log "installing Python packages"
    "$VENV/bin/pip" install --quiet --upgrade pip
    "$VENV/bin/pip" install --quiet -r "$APP_DIR/requirements.txt"
    echo "$want" > "$stamp"
  fi
  # Bot processes start every minute: compile once here, never in each of them.
  "$VENV/bin/python" -m compileall -q -x '/\.venv/|/tests/' "$APP_DIR" >/dev/null
}

write_env_file() {
  if [ -f "$ENV_FILE" ]; then
    local name
    for name in $(grep -oE '^[A-Z_]+=' "$APP_DIR/deploy/dcabot.env.example" | tr -d =); do
      grep -qE "^$name=" "$ENV_FILE" || warn "$ENV_FILE has no $name (see deploy/dcabot.env.example)"
    done
    return
  fi
  log "writing $ENV_FILE with new secrets"
  local secret_key encryption_key db_password
  secret_key="$(openssl rand -hex 32)"
  encryption_key="$("$VENV/bin/python" -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')"
  db_password="$(openssl rand -hex 24)"
  sed -e "s#^DATABASE_URL=.*#DATABASE_URL=postgresql://$DB_USER:$db_password@127.0.0.1:5432/$DB_NAME#" \
      -e "s#^SECRET_KEY=.*#SECRET_KEY=$secret_key#" \
      -e "s#^BASE_URL=.*#BASE_URL=https://$DOMAIN#" \
      -e "s#^ENCRYPTION_KEY=.*#ENCRYPTION_KEY=$encryption_key#" \
      -e "s#^RUNNER_STATE_FILE=.*#RUNNER_STATE_FILE=$STATE_DIR/runner-state.json#" \
      "$APP_DIR/deploy/dcabot.env.example" > "$ENV_FILE.new"
  chown root:"$APP_USER" "$ENV_FILE.new"
  chmod 0640 "$ENV_FILE.new"
  mv "$ENV_FILE.new" "$ENV_FILE"
}

env_value() {
  # The value of one setting of the env file, parsed the way the runner parses it.
  "$VENV/bin/python" -c 'import sys; from dotenv import dotenv_values; print(dotenv_values(sys.argv[1]).get(sys.argv[2]) or "")' "$ENV_FILE" "$1"
}

setup_database() {
  local url password host
  url="$(env_value DATABASE_URL)"
  case "$url" in
    postgresql://*|postgres://*) ;;
    *) log "DATABASE_URL is not PostgreSQL; skipping the database setup"; return ;;
  esac
  host="$("$VENV/bin/python" -c 'import sys; from sqlalchemy.engine import make_url; print(make_url(sys.argv[1]).host or "")' "$url")"
  case "$host" in
    ""|127.0.0.1|localhost|::1) ;;
    *) log "PostgreSQL at $host is not local; create its role and database there"; return ;;
  esac
  password="$("$VENV/bin/python" -c 'import sys; from sqlalchemy.engine import make_url; print(make_url(sys.argv[1]).password or "")' "$url")"
  if have_systemd; then systemctl enable --now postgresql >/dev/null; fi
  log "PostgreSQL role $DB_USER and database $DB_NAME"
  # psql variables (:'pw') quote the password; they work in scripts read from stdin only.
  if [ "$(as_postgres psql -tAc "SELECT 1 FROM pg_roles WHERE rolname = '$DB_USER'")" != 1 ]; then
    as_postgres psql -q -c "CREATE ROLE $DB_USER LOGIN"
  fi
  printf "ALTER ROLE %s WITH LOGIN PASSWORD :'pw';\n" "$DB_USER" \
    | as_postgres psql -q -v ON_ERROR_STOP=1 -v pw="$password" >/dev/null
  if [ "$(as_postgres psql -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'")" != 1 ]; then
    as_postgres createdb --owner "$DB_USER" "$DB_NAME"
  fi
}

install_wrapper() {
  # `dcabot-flask CMD`: flask --app saas with the service's settings, as the service user.
  cat > /usr/local/bin/dcabot-flask <<EOF
#!/bin/sh
# flask --app saas with $ENV_FILE, as $APP_USER (written by deploy/install.sh).
cd "$APP_DIR" || exit 1
exec runuser -u "$APP_USER" -- "$VENV/bin/dotenv" -f "$ENV_FILE" run --no-override -- \\
  "$VENV/bin/flask" --app saas "\$@"
EOF
  chmod 0755 /usr/local/bin/dcabot-flask
}

create_schema() {
  log "applying schema migrations (flask --app saas db upgrade)"
  /usr/local/bin/dcabot-flask db upgrade
}

render() {
  # deploy/<file> with this install's paths, user, socket, domain and certificate.
  sed -e "s#/opt/dcabot#$APP_DIR#g" -e "s#/etc/dcabot/dcabot.env#$ENV_FILE#g" \
      -e "s#/var/lib/dcabot#$STATE_DIR#g" -e "s#^User=dcabot#User=$APP_USER#" \
      -e "s#^Group=dcabot#Group=$APP_USER#" -e "s#__APP_DIR__#$APP_DIR#g" \
      -e "s#__SOCKET__#$SOCKET#g" -e "s#__DOMAIN__#$DOMAIN#g" \
      -e "s#__CERT__#$CERT#g" -e "s#__CERT_KEY__#$CERT_KEY#g" "$APP_DIR/deploy/$1"
}

install_systemd() {
  render dcabot-web.service > /etc/systemd/system/dcabot-web.service
  if have_systemd; then
    log "starting dcabot-web"
    systemctl daemon-reload
    systemctl enable dcabot-web >/dev/null
    systemctl restart dcabot-web
  else
    warn "systemd is not running here; start gunicorn yourself (see docs/DEPLOYMENT.md)"
  fi
}

choose_certificate() {
  CERT="/etc/letsencrypt/live/$DOMAIN/fullchain.pem"
  CERT_KEY="/etc/letsencrypt/live/$DOMAIN/privkey.pem"
  [ "$SKIP_NGINX" -eq 1 ] && return
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
  [ "$SKIP_NGINX" -eq 1 ] && return
  log "nginx site for $DOMAIN"
  render nginx-dcabot.conf > /etc/nginx/sites-available/dcabot
  ln -sf /etc/nginx/sites-available/dcabot /etc/nginx/sites-enabled/dcabot
  if [ -L /etc/nginx/sites-enabled/default ]; then rm /etc/nginx/sites-enabled/default; fi
  install -d -m 0755 /var/www/html
  nginx -t
  if have_systemd; then systemctl enable nginx >/dev/null; systemctl reload-or-restart nginx
  elif pgrep -x nginx >/dev/null; then nginx -s reload; else nginx; fi
}

install_cron() {
  log "crontab /etc/cron.d/dcabot (run-due every minute)"
  /usr/local/bin/dcabot-flask crontab --env-file "$ENV_FILE" --log "$LOG_DIR/runner.log" \
    --user "$APP_USER" > /etc/cron.d/dcabot.new
  chmod 0644 /etc/cron.d/dcabot.new
  mv /etc/cron.d/dcabot.new /etc/cron.d/dcabot
  sed -e "s#/var/log/dcabot#$LOG_DIR#g" -e "s#su dcabot dcabot#su $APP_USER $APP_USER#" \
      -e "s#create 0640 dcabot dcabot#create 0640 $APP_USER $APP_USER#" \
      "$APP_DIR/deploy/logrotate-dcabot" > /etc/logrotate.d/dcabot
  if have_systemd; then systemctl enable --now cron >/dev/null; fi
}

main() {
  check_input
  install_packages
  create_user
  sync_code
  build_venv
  write_env_file
  setup_database
  install_wrapper
  create_schema
  choose_certificate
  install_systemd
  install_nginx
  install_cron
  log "done. Next: dcabot-flask create-admin you@example.com; dcabot-flask health"
}

# Sourced (by the tests, to render the templates): define the functions only.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  main "$@"
fi
