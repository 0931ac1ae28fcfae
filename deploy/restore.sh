#!/usr/bin/env bash
# Restore a deploy/backup.sh dump into a fresh database, on this server or a new one.
#
#   sudo deploy/restore.sh /var/backups/dcabot/dcabot-20261120T033000Z.dump
#   sudo deploy/restore.sh DUMP --env-backup /root/dcabot-20261120T033000Z.env   # a new server
#
# It stops the writers (the web app and the cron runner), drops and recreates the database named
# in DATABASE_URL, restores the dump into it as the app's role, and starts the writers again.
# --env-backup first puts the backed-up env file in place: without its ENCRYPTION_KEY the
# restored exchange keys cannot be decrypted.
set -euo pipefail

ENV_FILE=/etc/dcabot/dcabot.env
ENV_BACKUP=""
ADMIN_URL=""
DUMP=""
APP_USER=dcabot
STOP_WRITERS=1

die() { printf 'error: %s\n' "$*" >&2; exit 1; }
log() { printf '==> %s\n' "$*"; }

usage() {
  cat <<USAGE
usage: $0 DUMP [--env-file FILE] [--env-backup FILE] [--admin-url URL] [--user NAME]
  DUMP              a .dump file written by deploy/backup.sh
  --env-file FILE   the server's settings (default $ENV_FILE)
  --env-backup FILE a backed-up env file to install as --env-file first
  --admin-url URL   a PostgreSQL superuser connection for dropdb/createdb (default: the local
                    postgres user over the unix socket)
  --user NAME       the service user owning the env file (default $APP_USER)
  --no-stop         leave the web app and cron alone (they are stopped, or on another host)
USAGE
}

while [ $# -gt 0 ]; do
  case "$1" in
    --env-file|--env-backup|--admin-url|--user)
      [ $# -ge 2 ] || die "$1 needs a value"
      case "$1" in
        --env-file) ENV_FILE="$2" ;;
        --env-backup) ENV_BACKUP="$2" ;;
        --admin-url) ADMIN_URL="$2" ;;
        --user) APP_USER="$2" ;;
      esac
      shift 2 ;;
    --no-stop) STOP_WRITERS=0; shift ;;
    -h|--help) usage; exit 0 ;;
    -*) die "unknown option $1 (see $0 --help)" ;;
    *) [ -z "$DUMP" ] || die "one dump at a time"; DUMP="$1"; shift ;;
  esac
done

[ -n "$DUMP" ] || die "which dump? (usage: $0 DUMP)"
[ -r "$DUMP" ] || die "cannot read $DUMP"
command -v pg_restore >/dev/null 2>&1 || die "pg_restore is missing (apt-get install postgresql-client)"
pg_restore --list "$DUMP" >/dev/null 2>&1 || die "$DUMP is not a pg_dump custom-format file"
if [ -n "$ENV_BACKUP" ]; then
  [ -r "$ENV_BACKUP" ] || die "cannot read $ENV_BACKUP"
  grep -q '^ENCRYPTION_KEY=' "$ENV_BACKUP" || die "$ENV_BACKUP has no ENCRYPTION_KEY"
fi
[ -n "$ENV_BACKUP" ] || [ -r "$ENV_FILE" ] || die "cannot read $ENV_FILE (give --env-backup)"

value() {
  sed -n "s/^$1=//p" "$2" | tail -n1 | sed -e 's/^"\(.*\)"$/\1/' -e "s/^'\(.*\)'$/\1/"
}
url="$(value DATABASE_URL "${ENV_BACKUP:-$ENV_FILE}")"
case "$url" in
  postgresql+*://*) url="postgresql://${url#*://}" ;;
esac
re='^postgres(ql)?://(([^:@/]*)(:[^@/]*)?@)?([^:/?]*)(:([0-9]+))?/([^?]*)'
[[ "$url" =~ $re ]] || die "DATABASE_URL is not a PostgreSQL URL"
db_user="${BASH_REMATCH[3]}"
db_port="${BASH_REMATCH[7]:-5432}"
db_name="${BASH_REMATCH[8]}"
case "$db_name$db_user" in ''|*[!a-zA-Z0-9_]*) die "unexpected database or role name in DATABASE_URL" ;; esac

admin() {
  # psql/dropdb/createdb as a superuser: --admin-url, or the local postgres user.
  local tool="$1"; shift
  if [ -n "$ADMIN_URL" ]; then "$tool" --maintenance-db="$ADMIN_URL" "$@"
  else (cd / && runuser -u postgres -- "$tool" -p "$db_port" "$@"); fi
}

# Writers stop first, so nothing lands in the database between the drop and the restore.
web_was_running=0
cron_paused=0
if [ "$STOP_WRITERS" -eq 0 ]; then
  :
elif [ -d /run/systemd/system ] && systemctl is-active -q dcabot-web 2>/dev/null; then
  web_was_running=1; log "stopping dcabot-web"; systemctl stop dcabot-web
elif [ -f /run/dcabot/web.pid ] && kill -0 "$(cat /run/dcabot/web.pid)" 2>/dev/null; then
  web_was_running=2; log "stopping gunicorn"; kill -TERM "$(cat /run/dcabot/web.pid)"
  for _ in $(seq 1 70); do kill -0 "$(cat /run/dcabot/web.pid)" 2>/dev/null || break; sleep 0.5; done
fi
if [ "$STOP_WRITERS" -eq 1 ] && [ -f /etc/cron.d/dcabot ]; then
  cron_paused=1; log "pausing the runner"; mv /etc/cron.d/dcabot /etc/dcabot-restore.cron
fi
restart_writers() {
  if [ "$cron_paused" -eq 1 ]; then mv /etc/dcabot-restore.cron /etc/cron.d/dcabot; fi
  if [ "$web_was_running" -eq 1 ]; then systemctl start dcabot-web; fi
  if [ "$web_was_running" -eq 2 ]; then
    setsid "$(dirname "$0")/run-web.sh" >>/var/log/dcabot/web.log 2>&1 </dev/null &
  fi
}
trap restart_writers EXIT

if [ -n "$ENV_BACKUP" ]; then
  log "installing $ENV_BACKUP as $ENV_FILE"
  install -d -m 0750 "$(dirname "$ENV_FILE")"
  install -m 0640 "$ENV_BACKUP" "$ENV_FILE"
  if id -u "$APP_USER" >/dev/null 2>&1; then chown root:"$APP_USER" "$ENV_FILE"; fi
fi

log "recreating the database $db_name"
admin dropdb --if-exists "$db_name" >/dev/null 2>&1 \
  || die "could not drop $db_name (is something still connected?)"
admin createdb --owner "$db_user" "$db_name" || die "could not create $db_name"
log "restoring $DUMP"
if ! err="$(pg_restore --no-owner --no-privileges --exit-on-error --dbname="$url" "$DUMP" 2>&1)"; then
  die "pg_restore failed: $(tail -n1 <<<"$err")"
fi
log "restored $DUMP into $db_name; check it with: dcabot-flask health"
