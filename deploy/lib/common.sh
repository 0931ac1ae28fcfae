# shellcheck shell=bash
# install.sh's shared helpers: messages, paths, running commands as postgres or the app.

log() { printf '==> %s\n' "$*"; }
warn() { printf 'warning: %s\n' "$*" >&2; }
# One readable line and a non-zero exit: the only way install.sh reports a failure.
die() { printf 'error: %s\n' "$*" >&2; exit 1; }
have_systemd() { [ -d /run/systemd/system ]; }

set_paths() {
  # Everything derived from the options; called again by the tests after they set them.
  ENV_FILE="$ENV_DIR/dcabot.env"
  RELEASES="$APP_DIR/releases"
  VENVS="$APP_DIR/venvs"
  CURRENT="$APP_DIR/current"
  RUN_DIR=/run/dcabot
  SOCKET="$RUN_DIR/gunicorn.sock"
  BACKUP_DIR=/var/backups/dcabot
}
set_paths

step() {
  # Run one step, or only say what it would do under --dry-run.
  local what="$1"; shift
  if [ "$DRY_RUN" -eq 1 ]; then printf 'would: %s\n' "$what"; return 0; fi
  "$@"
}

as_postgres() {
  # From / so psql never says "could not change directory to /root".
  (cd / && runuser -u postgres -- "$@")
}

app_flask() {
  # flask --app saas from release $1, with the env file's settings, as the service user.
  local rel="$1"; shift
  (cd "$rel" && runuser -u "$APP_USER" -- "$rel/.venv/bin/dotenv" -f "$ENV_FILE" run \
    --no-override -- "$rel/.venv/bin/flask" --app saas "$@")
}

env_value() {
  # One setting of the env file (last assignment wins), quotes removed; shell-free parsing.
  [ -f "$ENV_FILE" ] || return 0
  sed -n "s/^$1=//p" "$ENV_FILE" | tail -n1 | sed -e 's/^"\(.*\)"$/\1/' -e "s/^'\(.*\)'$/\1/"
}

current_release() {
  # The name of the live release (empty before the first staged install).
  if [ -L "$CURRENT" ]; then basename "$(readlink "$CURRENT")"; fi
}

release_value() {
  # A value recorded in release $1's .dcabot-release file.
  local file="$RELEASES/$1/.dcabot-release"
  [ -f "$file" ] && sed -n "s/^$2=//p" "$file" | tail -n1
  return 0
}

render() {
  # deploy/<file> with this install's paths, user, socket, domain and certificate.
  sed -e "s#/opt/dcabot/current#$CURRENT#g" -e "s#/opt/dcabot#$APP_DIR#g" \
      -e "s#/etc/dcabot/dcabot.env#$ENV_FILE#g" \
      -e "s#/var/lib/dcabot#$STATE_DIR#g" -e "s#^User=dcabot#User=$APP_USER#" \
      -e "s#^Group=dcabot#Group=$APP_USER#" -e "s#__APP_DIR__#$CURRENT#g" \
      -e "s#__SOCKET__#$SOCKET#g" -e "s#__DOMAIN__#$DOMAIN#g" \
      -e "s#__CERT__#$CERT#g" -e "s#__CERT_KEY__#$CERT_KEY#g" "${TEMPLATE_DIR:-$SRC_DIR/deploy}/$1"
}
