#!/usr/bin/env bash
# Back up dcabot: a pg_dump of the database, and the env file (SECRET_KEY, ENCRYPTION_KEY, the
# database password) in a separate folder, so a stolen dump never carries the keys that decrypt
# its exchange keys. Old files go after --keep-days; the newest of each kind always stays.
#
#   sudo deploy/backup.sh                   # nightly from /etc/cron.d/dcabot-backup
#   sudo deploy/backup.sh --label pre-upgrade
#
# Restore: deploy/restore.sh (docs/DEPLOYMENT.md, "Backups and restore").
set -euo pipefail

ENV_FILE=/etc/dcabot/dcabot.env
DUMP_DIR=/var/backups/dcabot
KEYS_DIR=/var/backups/dcabot-keys
KEEP_DAYS=14
LABEL=""

die() { printf 'error: %s\n' "$*" >&2; exit 1; }

usage() {
  cat <<USAGE
usage: $0 [--env-file FILE] [--dir DIR] [--keys-dir DIR] [--keep-days N] [--label NAME]
  --env-file FILE   the server's settings (default $ENV_FILE): DATABASE_URL and the keys
  --dir DIR         database dumps (default $DUMP_DIR)
  --keys-dir DIR    copies of the env file, kept apart from the dumps (default $KEYS_DIR)
  --keep-days N     delete backups older than N days, never the newest (default $KEEP_DAYS)
  --label NAME      name the files dcabot-NAME-<time> (e.g. pre-upgrade)
USAGE
}

while [ $# -gt 0 ]; do
  case "$1" in
    --env-file|--dir|--keys-dir|--keep-days|--label)
      [ $# -ge 2 ] || die "$1 needs a value"
      case "$1" in
        --env-file) ENV_FILE="$2" ;;
        --dir) DUMP_DIR="$2" ;;
        --keys-dir) KEYS_DIR="$2" ;;
        --keep-days) KEEP_DAYS="$2" ;;
        --label) LABEL="$2" ;;
      esac
      shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown option $1 (see $0 --help)" ;;
  esac
done

case "$KEEP_DAYS" in ''|*[!0-9]*) die "--keep-days must be a number of days" ;; esac
case "$LABEL" in *[!A-Za-z0-9_.-]*) die "--label may use letters, digits, . _ and - only" ;; esac
[ -r "$ENV_FILE" ] || die "cannot read $ENV_FILE"
command -v pg_dump >/dev/null 2>&1 || die "pg_dump is missing (apt-get install postgresql-client)"

# DATABASE_URL as the app reads it (last assignment, quotes removed, no driver suffix).
url="$(sed -n 's/^DATABASE_URL=//p' "$ENV_FILE" | tail -n1 | sed -e 's/^"\(.*\)"$/\1/' -e "s/^'\(.*\)'$/\1/")"
case "$url" in
  postgresql://*|postgres://*) ;;
  postgresql+*://*) url="postgresql://${url#*://}" ;;
  *) die "DATABASE_URL in $ENV_FILE is not PostgreSQL; copy the SQLite file instead" ;;
esac

stamp="$(date -u +%Y%m%dT%H%M%SZ)"
name="dcabot-${LABEL:+$LABEL-}$stamp"
umask 077
install -d -m 0700 "$DUMP_DIR" "$KEYS_DIR"
dump="$DUMP_DIR/$name.dump"
# Custom format: compressed, and pg_restore can restore it into an empty database.
if ! err="$(pg_dump --format=custom --no-password --file="$dump.part" --dbname="$url" 2>&1)"; then
  rm -f "$dump.part"
  die "pg_dump failed: $(tail -n1 <<<"$err")"
fi
mv "$dump.part" "$dump"
cp "$ENV_FILE" "$KEYS_DIR/$name.env"

prune() {
  # Files of one kind older than KEEP_DAYS, except the newest.
  local dir="$1" pattern="$2" newest
  newest="$(find "$dir" -maxdepth 1 -name "$pattern" -printf '%T@ %p\n' | sort -n | tail -n1 | cut -d' ' -f2-)"
  find "$dir" -maxdepth 1 -name "$pattern" -mtime +"$KEEP_DAYS" ! -path "$newest" -delete
}
prune "$DUMP_DIR" 'dcabot-*.dump'
prune "$KEYS_DIR" 'dcabot-*.env'

printf 'database: %s\nkeys:     %s\n' "$dump" "$KEYS_DIR/$name.env"
