# shellcheck shell=bash
# install.sh's checks: everything that can stop an install is found here, before any change.

load_saved_options() {
  # An upgrade or rollback reuses the domain and nginx choice of the first install.
  local saved="$ENV_DIR/install.conf" value
  [ -f "$saved" ] || return 0
  if [ -z "$DOMAIN" ]; then
    value="$(sed -n 's/^DOMAIN=//p' "$saved")"; DOMAIN="${value:-}"
  fi
  if [ "$SKIP_NGINX" -eq 0 ] && grep -qx 'SKIP_NGINX=1' "$saved"; then SKIP_NGINX=1; fi
}

preflight_options() {
  [ "$(id -u)" -eq 0 ] || die "run as root (sudo $0 ...)"
  case "$DB_NAME$DB_USER$APP_USER" in
    *[!a-z0-9_]*) die "user, database and role names may use a-z, 0-9 and _ only" ;;
  esac
  case "$DB_PORT" in ''|*[!0-9]*) die "--db-port must be a number, not '$DB_PORT'" ;; esac
  case "$KEEP" in ''|*[!0-9]*|0|1) die "--keep must be a number of at least 2" ;; esac
  for file in main.py requirements.txt saas/__init__.py deploy/run-web.sh; do
    [ -f "$SRC_DIR/$file" ] || die "$SRC_DIR is not a dcabot checkout (no $file)"
  done
  if [ -e "$CURRENT" ] && [ ! -L "$CURRENT" ]; then
    die "$CURRENT exists and is not the release symlink; move it away first"
  fi
  load_saved_options
  if [ "$SKIP_NGINX" -eq 0 ] && [ -z "$DOMAIN" ]; then
    die "--domain is required (nginx serves that name), or --skip-nginx with --base-url"
  fi
  if [ -z "$BASE_URL" ] && [ -n "$DOMAIN" ]; then BASE_URL="https://$DOMAIN"; fi
  if [ -z "$BASE_URL" ] && [ -z "$(env_value BASE_URL)" ]; then
    die "--base-url is required with --skip-nginx and no --domain (links in mails use it)"
  fi
  case "$BASE_URL" in
    ''|http://?*|https://?*) ;;
    *) die "--base-url must start with http:// or https:// and name a host, not '$BASE_URL'" ;;
  esac
  if command -v python3 >/dev/null 2>&1; then
    python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
      || die "dcabot needs Python 3.11 or newer (this is $(python3 --version 2>&1))"
  fi
}

preflight_ports() {
  # nginx needs 80 and 443: taken by anything but nginx, the install would fail half-way.
  [ "$SKIP_NGINX" -eq 1 ] && return 0
  command -v ss >/dev/null 2>&1 || return 0
  local port listeners holder
  for port in 80 443; do
    listeners="$(ss -Hltnp "sport = :$port" 2>/dev/null || true)"
    [ -z "$listeners" ] && continue
    grep -q '"nginx"' <<<"$listeners" && continue
    holder="$(grep -oE '"[^"]+"' <<<"$listeners" | head -n1 || true)"
    die "port $port is taken by ${holder:-another program}; stop it or use --skip-nginx"
  done
}

missing_packages() {
  local pkg wanted="$PACKAGES"
  [ "$SKIP_NGINX" -eq 0 ] && wanted+=" nginx"
  for pkg in $wanted; do
    [ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null)" = "install ok installed" ] \
      || printf '%s ' "$pkg"
  done
}

install_packages() {
  # Only what is missing, so a re-run never needs the network.
  local missing
  missing="$(missing_packages)"
  [ -z "$missing" ] && return 0
  if [ "$SKIP_PACKAGES" -eq 1 ]; then
    die "missing packages: $missing(install them or drop --skip-packages)"
  fi
  if [ "$DRY_RUN" -eq 1 ]; then printf 'would: apt-get install %s\n' "$missing"; return 0; fi
  log "installing packages: $missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || die "apt-get update failed (see above); nothing was changed"
  # shellcheck disable=SC2086 # a list of package names
  apt-get install -y -qq $missing >/dev/null || die "apt-get install $missing failed"
  python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
    || die "dcabot needs Python 3.11 or newer (this is $(python3 --version 2>&1))"
}

parse_db_url() {
  # DB_* from DATABASE_URL of the env file when there is one, else from the options.
  local url re='^(postgresql|postgres)(\+[a-z0-9]+)?://(([^:@/]*)(:([^@/]*))?@)?([^:/?]*)(:([0-9]+))?/([^?]*)'
  DB_KIND=postgresql
  DB_PASSWORD=""
  url="$(env_value DATABASE_URL)"
  [ -z "$url" ] && return 0
  if [[ "$url" =~ $re ]]; then
    DB_USER="${BASH_REMATCH[4]:-$DB_USER}"
    DB_PASSWORD="${BASH_REMATCH[6]}"
    DB_HOST="${BASH_REMATCH[7]:-127.0.0.1}"
    DB_PORT="${BASH_REMATCH[9]:-5432}"
    DB_NAME="${BASH_REMATCH[10]:-$DB_NAME}"
  else
    DB_KIND=other
  fi
}

db_is_local() {
  case "$DB_HOST" in ""|127.0.0.1|localhost|::1) return 0 ;; *) return 1 ;; esac
}

pg_answers() { pg_isready -q -t 3 -h "$DB_HOST" -p "$DB_PORT" >/dev/null 2>&1; }

start_postgresql() {
  # Start the local cluster on DB_PORT (systemd, or pg_ctlcluster where there is none).
  local out ver name port status
  if have_systemd; then
    out="$(systemctl start postgresql 2>&1)" || { printf '%s' "$out"; return 1; }
    return 0
  fi
  command -v pg_lsclusters >/dev/null 2>&1 || { printf 'no pg_lsclusters'; return 1; }
  while read -r ver name port status _; do
    [ "$port" = "$DB_PORT" ] || continue
    [ "$status" = online ] && return 0
    out="$(pg_ctlcluster "$ver" "$name" start 2>&1)" \
      || { printf 'pg_ctlcluster %s %s start: %s' "$ver" "$name" "$(tail -n1 <<<"$out")"; return 1; }
    return 0
  done < <(pg_lsclusters -h)
  printf 'no local cluster uses port %s (pg_lsclusters)' "$DB_PORT"
  return 1
}

preflight_database() {
  # PostgreSQL must answer, or be local and start, before anything is changed.
  parse_db_url
  [ "$DB_KIND" = postgresql ] || { log "DATABASE_URL is not PostgreSQL: no database checks"; return 0; }
  local where="PostgreSQL at $DB_HOST:$DB_PORT" why
  if ! command -v pg_isready >/dev/null 2>&1; then
    [ "$DRY_RUN" -eq 1 ] && { printf 'would: check %s once postgresql-client is installed\n' "$where"; return 0; }
    die "pg_isready is missing (apt-get install postgresql-client)"
  fi
  pg_answers && return 0
  db_is_local || die "$where is not answering; start it or fix DATABASE_URL in $ENV_FILE"
  if [ "$DRY_RUN" -eq 1 ]; then printf 'would: start %s (it is not answering)\n' "$where"; return 0; fi
  log "starting $where"
  why="$(start_postgresql)" || die "$where is down and could not be started: $why"
  for _ in $(seq 1 40); do pg_answers && return 0; sleep 0.5; done
  die "$where was started but does not answer after 20 s (see its log in /var/log/postgresql)"
}

preflight_rollback() {
  [ "$(id -u)" -eq 0 ] || die "run as root (sudo $0 --rollback)"
  load_saved_options
  local cur prev
  cur="$(current_release)"
  [ -n "$cur" ] || die "no release is installed in $RELEASES: nothing to roll back"
  prev="$(release_value "$cur" PREVIOUS)"
  [ -n "$prev" ] || die "$cur has no previous release recorded: nothing to roll back to"
  [ -d "$RELEASES/$prev" ] || die "the previous release $prev was pruned; restore a backup instead"
  [ -x "$RELEASES/$prev/.venv/bin/python" ] || die "the venv of $prev is gone; restore a backup instead"
}
