# shellcheck shell=bash
# install.sh's changes: user, staged release, venv, env file, database, migrations, switch.

create_user() {
  if ! id -u "$APP_USER" >/dev/null 2>&1; then
    log "creating system user $APP_USER"
    useradd --system --user-group --home-dir "$STATE_DIR" --shell /usr/sbin/nologin "$APP_USER"
  fi
  # nginx reaches the gunicorn socket through the group.
  if id -u www-data >/dev/null 2>&1; then usermod -aG "$APP_USER" www-data; fi
  install -d -o "$APP_USER" -g "$APP_USER" -m 0750 "$STATE_DIR" "$LOG_DIR"
  install -d -o root -g "$APP_USER" -m 0750 "$ENV_DIR"
  install -d -m 0755 "$APP_DIR" "$RELEASES" "$VENVS"
  printf 'DOMAIN=%s\nSKIP_NGINX=%s\n' "$DOMAIN" "$SKIP_NGINX" > "$ENV_DIR/install.conf"
}

code_hash() {
  # A hash of a folder's files and their contents: the same code gives the same release.
  (cd "$1" && find . -type f ! -name .dcabot-release ! -path '*/__pycache__/*' -print0 \
    | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-12)
}

stage_release() {
  # The new code beside the live release, owned by root: the service reads it, never changes it.
  local staging="$RELEASES/.staging" hash existing=""
  PREVIOUS_RELEASE="$(current_release)"
  rm -rf "$staging"
  rsync -a --delete --exclude .git --exclude .venv --exclude instance --exclude .dcabot \
    --exclude __pycache__ --exclude '*.pyc' --exclude .env "$SRC_DIR/" "$staging/"
  chown -R root:root "$staging"
  chmod -R u+rwX,go+rX,go-w "$staging"
  hash="$(code_hash "$staging")"
  for existing in "$RELEASES"/*-"$hash"; do [ -d "$existing" ] && break; existing=""; done
  if [ -n "$existing" ]; then
    rm -rf "$staging"
    NEW_RELEASE="$(basename "$existing")"
    log "release $NEW_RELEASE holds this code already"
  else
    NEW_RELEASE="$(date -u +%Y%m%d-%H%M%S)-$hash"
    mv "$staging" "$RELEASES/$NEW_RELEASE"
    log "staged release $NEW_RELEASE in $RELEASES"
  fi
}

build_venv() {
  # One venv per requirements.txt (and Python): releases with the same packages share it.
  local rel="$RELEASES/$NEW_RELEASE" want venv
  want="$( (cat "$rel/requirements.txt"; python3 --version) | sha256sum | cut -c1-12)"
  venv="$VENVS/$want"
  if [ ! -f "$venv/.complete" ]; then
    log "building the venv $venv (pip install -r requirements.txt)"
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$rel/requirements.txt" \
      || die "pip install -r requirements.txt failed (above); $(still_live)"
    touch "$venv/.complete"
  fi
  ln -sfn "$venv" "$rel/.venv"
  # Bot processes start every minute: compile once here, never in each of them.
  "$venv/bin/python" -m compileall -q -x '/\.venv/|/tests/' "$rel" >/dev/null || true
}

write_env_file() {
  local example="$RELEASES/$NEW_RELEASE/deploy/dcabot.env.example"
  if [ -f "$ENV_FILE" ]; then
    local name
    for name in $(grep -oE '^[A-Z_]+=' "$example" | tr -d =); do
      grep -qE "^$name=" "$ENV_FILE" || warn "$ENV_FILE has no $name (see deploy/dcabot.env.example)"
    done
    if [ -n "$BASE_URL" ] && [ "$(env_value BASE_URL)" != "$BASE_URL" ]; then
      warn "$ENV_FILE keeps BASE_URL=$(env_value BASE_URL); edit it to use $BASE_URL"
    fi
    return 0
  fi
  log "writing $ENV_FILE with new secrets"
  local secret_key encryption_key db_password host="$DB_HOST"
  secret_key="$(openssl rand -hex 32)"
  encryption_key="$("$RELEASES/$NEW_RELEASE/.venv/bin/python" -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')"
  db_password="$(openssl rand -hex 24)"
  case "$host" in *:*) host="[$host]" ;; esac
  sed -e "s#^DATABASE_URL=.*#DATABASE_URL=postgresql://$DB_USER:$db_password@$host:$DB_PORT/$DB_NAME#" \
      -e "s#^SECRET_KEY=.*#SECRET_KEY=$secret_key#" \
      -e "s#^BASE_URL=.*#BASE_URL=$BASE_URL#" \
      -e "s#^ENCRYPTION_KEY=.*#ENCRYPTION_KEY=$encryption_key#" \
      -e "s#^RUNNER_STATE_FILE=.*#RUNNER_STATE_FILE=$STATE_DIR/runner-state.json#" \
      "$example" > "$ENV_FILE.new"
  chown root:"$APP_USER" "$ENV_FILE.new"
  chmod 0640 "$ENV_FILE.new"
  mv "$ENV_FILE.new" "$ENV_FILE"
}

setup_database() {
  parse_db_url
  [ "$DB_KIND" = postgresql ] || return 0
  if ! db_is_local; then
    log "PostgreSQL at $DB_HOST is not local: its role and database are yours to create"
    return 0
  fi
  case "$DB_NAME$DB_USER" in *[!a-z0-9_]*) die "database and role names may use a-z, 0-9 and _ only" ;; esac
  local psql=(psql -q -X -p "$DB_PORT" -v ON_ERROR_STOP=1)
  if [ "$(as_postgres "${psql[@]}" -tAc "SELECT 1 FROM pg_roles WHERE rolname = '$DB_USER'")" != 1 ]; then
    log "creating the PostgreSQL role $DB_USER"
    as_postgres "${psql[@]}" -c "CREATE ROLE $DB_USER LOGIN"
  fi
  # psql variables (:'pw') quote the password; they work in scripts read from stdin only.
  printf "ALTER ROLE %s WITH LOGIN PASSWORD :'pw';\n" "$DB_USER" \
    | as_postgres "${psql[@]}" -v pw="$DB_PASSWORD" >/dev/null
  if [ "$(as_postgres "${psql[@]}" -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'")" != 1 ]; then
    log "creating the PostgreSQL database $DB_NAME"
    as_postgres createdb -p "$DB_PORT" --owner "$DB_USER" "$DB_NAME"
  fi
}

still_live() {
  # What a failure before the switch leaves serving.
  if [ -n "$PREVIOUS_RELEASE" ]; then echo "$PREVIOUS_RELEASE is still live"
  else echo "nothing was switched live"; fi
}

has_migrations() { [ -d "$1/saas/migrations" ]; }

db_revision() {
  # The database's Alembic revision as release $1 sees it (empty: none recorded).
  has_migrations "$1" || return 0
  # `db current` prints "database: <revision>" ("(none)" for an empty database) first.
  app_flask "$1" db current 2>/dev/null | sed -n 's/^database: //p' | head -n1 \
    | sed -e 's/^(none)$//' || true
}

backup_before_migrating() {
  # An upgrade backs the database up first: the way back when a migration cannot be undone.
  [ "$SKIP_BACKUP" -eq 0 ] && [ -n "$PREVIOUS_RELEASE" ] || return 0
  [ "$PREVIOUS_RELEASE" != "$NEW_RELEASE" ] && [ "$DB_KIND" = postgresql ] || return 0
  log "backing up the database before migrating (deploy/backup.sh)"
  "$RELEASES/$NEW_RELEASE/deploy/backup.sh" --env-file "$ENV_FILE" --dir "$BACKUP_DIR" \
    --label "pre-$NEW_RELEASE" >/dev/null \
    || die "the backup before migrating failed; nothing was migrated, $(still_live)"
}

migrate() {
  # Schema first, code second: the live release keeps running while the new one migrates.
  local rel="$RELEASES/$NEW_RELEASE" before="" after=""
  if [ "$NEW_RELEASE" = "$PREVIOUS_RELEASE" ] && has_migrations "$rel"; then
    # A re-run of the live release: nothing to record, only make sure the schema is at head.
    log "checking the database is migrated (flask --app saas db upgrade)"
    app_flask "$rel" db upgrade || die "flask --app saas db upgrade failed (above)"
    return 0
  fi
  if has_migrations "$rel"; then
    before="$(db_revision "$rel")"
    log "migrating the database (flask --app saas db upgrade)"
    app_flask "$rel" db upgrade \
      || die "flask --app saas db upgrade failed (above); $(still_live)"
    after="$(db_revision "$rel")"
  else
    log "creating missing tables (flask --app saas init-db)"
    app_flask "$rel" init-db || die "flask --app saas init-db failed (above)"
  fi
  # A re-run of the live release keeps what its first install recorded.
  [ "$NEW_RELEASE" = "$PREVIOUS_RELEASE" ] && return 0
  printf 'RELEASE=%s\nPREVIOUS=%s\nDB_REVISION_BEFORE=%s\nDB_REVISION_AFTER=%s\nINSTALLED_AT=%s\n' \
    "$NEW_RELEASE" "$PREVIOUS_RELEASE" "$before" "$after" "$(date -u +%FT%TZ)" \
    > "$rel/.dcabot-release"
}

switch_release() {
  # One rename: cron and the web app see the old release or the new one, never a mix.
  ln -sfn "releases/$1" "$APP_DIR/.current.new"
  mv -T "$APP_DIR/.current.new" "$CURRENT"
  log "$CURRENT -> releases/$1"
}

prune_releases() {
  # Keep the newest KEEP releases (always the live one and its previous), and their venvs.
  local cur prev rel name keep_list=() venv used
  cur="$(current_release)"
  prev="$(release_value "$cur" PREVIOUS)"
  mapfile -t keep_list < <(find "$RELEASES" -mindepth 1 -maxdepth 1 -type d ! -name '.*' \
    -printf '%f\n' | LC_ALL=C sort -r | head -n "$KEEP")
  for rel in "$RELEASES"/*/; do
    name="$(basename "$rel")"
    [ "$name" = "$cur" ] || [ "$name" = "$prev" ] && continue
    printf '%s\n' "${keep_list[@]}" | grep -qx "$name" && continue
    log "removing the old release $name"
    rm -rf "$rel"
  done
  for venv in "$VENVS"/*/; do
    [ -d "$venv" ] || continue
    used=0
    for rel in "$RELEASES"/*/; do
      [ "$(readlink "$rel.venv")" = "${venv%/}" ] && used=1
    done
    [ "$used" -eq 1 ] || { log "removing the unused venv $venv"; rm -rf "$venv"; }
  done
}

rollback() {
  # Downgrade with the newer code (only it knows its migrations), then switch back.
  local cur prev before now rel
  cur="$(current_release)"
  prev="$(release_value "$cur" PREVIOUS)"
  before="$(release_value "$cur" DB_REVISION_BEFORE)"
  rel="$RELEASES/$cur"
  if [ -n "$before" ]; then
    now="$(db_revision "$rel")"
    if [ "$now" != "$before" ]; then
      pause_cron
      log "downgrading the database from $now to $before (flask --app saas db downgrade $before)"
      if ! app_flask "$rel" db downgrade "$before"; then
        resume_cron
        die "the downgrade to $before failed, $cur stays live: restore the backup" \
          "$BACKUP_DIR/dcabot-pre-$cur-*.dump (docs/DEPLOYMENT.md, Rollback)"
      fi
    fi
  fi
  switch_release "$prev"
  TEMPLATE_DIR="$RELEASES/$prev/deploy"
  install_services
  log "rolled back from $cur to $prev"
}

dry_run_plan() {
  local cur
  cur="$(current_release)"
  if [ -f "$ENV_FILE" ]; then echo "would: keep $ENV_FILE and its secrets"
  else echo "would: write $ENV_FILE with new secrets, BASE_URL=$BASE_URL"; fi
  echo "would: stage $SRC_DIR as a release in $RELEASES (reused when the code is the same)"
  echo "would: build or reuse its venv in $VENVS"
  echo "would: create the PostgreSQL role $DB_USER and database $DB_NAME at $DB_HOST:$DB_PORT if missing"
  [ -n "$cur" ] && [ "$SKIP_BACKUP" -eq 0 ] && echo "would: back up the database to $BACKUP_DIR"
  if has_migrations "$SRC_DIR"; then echo "would: flask --app saas db upgrade"
  else echo "would: flask --app saas init-db"; fi
  echo "would: switch $CURRENT from ${cur:-nothing} to the new release"
  if have_systemd; then echo "would: restart dcabot-web.service"
  else echo "would: restart gunicorn with deploy/run-web.sh (no systemd)"; fi
  [ "$SKIP_NGINX" -eq 0 ] && echo "would: nginx site for $DOMAIN"
  echo "would: write /etc/cron.d/dcabot and start cron"
  echo "dry run: nothing was changed"
}

dry_run_rollback() {
  local cur prev before
  cur="$(current_release)"
  prev="$(release_value "$cur" PREVIOUS)"
  before="$(release_value "$cur" DB_REVISION_BEFORE)"
  if [ -n "$before" ]; then echo "would: flask --app saas db downgrade $before (with $cur)"; fi
  echo "would: switch $CURRENT from $cur to $prev and restart the web app"
  echo "dry run: nothing was changed"
}
