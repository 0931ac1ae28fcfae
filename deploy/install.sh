#!/usr/bin/env bash
# Set up, upgrade or roll back dcabot on a Debian 12 / Ubuntu 22.04+ server, from this checkout.
#
#   sudo deploy/install.sh --domain bots.example.com          # install or upgrade
#   sudo deploy/install.sh --domain bots.example.com --dry-run
#   sudo deploy/install.sh --rollback                          # back to the previous release
#
# It never leaves a half-upgraded server: every prerequisite (root, options, ports, PostgreSQL
# reachable or startable) is checked first and a failure stops it with one `error:` line before
# anything changes. The new code and its venv are staged beside the running release in
# APP_DIR/releases/, the database is migrated (`flask --app saas db upgrade`), and only then does
# the APP_DIR/current symlink switch and the web app restart, so cron never runs code newer than
# its schema. Running it again with the same code changes nothing but restarts. Without systemd
# (containers, LXC) it starts PostgreSQL, cron and gunicorn (deploy/run-web.sh) itself.
# docs/DEPLOYMENT.md explains every step.
set -euo pipefail

DOMAIN=""
BASE_URL=""
APP_DIR=/opt/dcabot
APP_USER=dcabot
ENV_DIR=/etc/dcabot
STATE_DIR=/var/lib/dcabot
LOG_DIR=/var/log/dcabot
DB_NAME=dcabot
DB_USER=dcabot
DB_HOST=127.0.0.1
DB_PORT=5432
KEEP=3
SKIP_NGINX=0
SKIP_PACKAGES=0
SKIP_BACKUP=0
DRY_RUN=0
ROLLBACK=0
SRC_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Debian packages the server needs (nginx is added unless --skip-nginx).
PACKAGES="python3 python3-venv postgresql postgresql-client cron rsync openssl logrotate"
PACKAGES+=" ca-certificates procps iproute2 curl"

usage() {
  cat <<EOF
usage: sudo $0 --domain HOST [options]      install, or upgrade to this checkout
       sudo $0 --rollback [options]         switch back to the previous release
  --domain HOST     public host name nginx serves; BASE_URL is https://HOST
  --base-url URL    the site's address for links in mails (required with --skip-nginx
                    when there is no --domain)
  --app-dir DIR     releases, venvs and the current symlink (default $APP_DIR)
  --user NAME       system user the web app and the bots run as (default $APP_USER)
  --db-name NAME    PostgreSQL database (default $DB_NAME); --db-user its owner role ($DB_USER)
  --db-host HOST    PostgreSQL host (default $DB_HOST); --db-port PORT (default $DB_PORT)
  --keep N          releases kept for rollback (default $KEEP)
  --skip-nginx      leave nginx alone (another proxy fronts gunicorn's socket)
  --skip-packages   do not apt-get install (the packages are already there)
  --skip-backup     no deploy/backup.sh run before migrating an existing database
  --dry-run         check the prerequisites and print what would be done; change nothing
  --rollback        switch back to the previous release, downgrading the database first
EOF
}

# shellcheck source=deploy/lib/common.sh
. "$SRC_DIR/deploy/lib/common.sh"
# shellcheck source=deploy/lib/preflight.sh
. "$SRC_DIR/deploy/lib/preflight.sh"
# shellcheck source=deploy/lib/release.sh
. "$SRC_DIR/deploy/lib/release.sh"
# shellcheck source=deploy/lib/services.sh
. "$SRC_DIR/deploy/lib/services.sh"

parse_args() {
  while [ $# -gt 0 ]; do
    case "$1" in
      --domain|--base-url|--app-dir|--user|--db-name|--db-user|--db-host|--db-port|--keep)
        [ $# -ge 2 ] || die "$1 needs a value"
        case "$1" in
          --domain) DOMAIN="$2" ;;
          --base-url) BASE_URL="$2" ;;
          --app-dir) APP_DIR="$2" ;;
          --user) APP_USER="$2" ;;
          --db-name) DB_NAME="$2" ;;
          --db-user) DB_USER="$2" ;;
          --db-host) DB_HOST="$2" ;;
          --db-port) DB_PORT="$2" ;;
          --keep) KEEP="$2" ;;
        esac
        shift 2 ;;
      --skip-nginx) SKIP_NGINX=1; shift ;;
      --skip-packages) SKIP_PACKAGES=1; shift ;;
      --skip-backup) SKIP_BACKUP=1; shift ;;
      --dry-run) DRY_RUN=1; shift ;;
      --rollback) ROLLBACK=1; shift ;;
      -h|--help) usage; exit 0 ;;
      *) die "unknown option $1 (see $0 --help)" ;;
    esac
  done
  set_paths
}

install_main() {
  preflight_options
  preflight_ports
  step "install the missing Debian packages" install_packages
  preflight_database
  [ "$DRY_RUN" -eq 1 ] && dry_run_plan && return
  create_user
  stage_release
  build_venv
  write_env_file
  setup_database
  backup_before_migrating
  migrate
  switch_release "$NEW_RELEASE"
  install_services
  prune_releases
  log "done: $(current_release) is live. Next: dcabot-flask create-admin you@example.com;" \
    "dcabot-flask health"
}

rollback_main() {
  preflight_rollback
  preflight_database
  [ "$DRY_RUN" -eq 1 ] && dry_run_rollback && return
  rollback
}

main() {
  parse_args "$@"
  if [ "$ROLLBACK" -eq 1 ]; then rollback_main; else install_main; fi
}

# Sourced (by the tests, to render the templates): define the functions only.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  main "$@"
fi
