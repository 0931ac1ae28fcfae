#!/bin/sh
# The container's commands (Dockerfile ENTRYPOINT; docker-compose.yml picks one per service):
#   web          migrate (flask --app saas db upgrade), then gunicorn as dcabot-web.service runs it
#   runner       main.py run-due at the start of every minute, as /etc/cron.d/dcabot does
#   migrate      flask --app saas db upgrade, alone
#   flask ARGS   flask --app saas ARGS (create-admin, health, rotate-keys, db current ...)
#   anything else runs as given.
# Settings come from the environment (docker-compose.yml's env_file and environment).
set -eu
cd "$(dirname "$0")/.."

migrate() {
  # Releases before migrations existed create their tables with init-db.
  if [ -d saas/migrations ]; then flask --app saas db upgrade; else flask --app saas init-db; fi
}

case "${1:-web}" in
  web)
    migrate
    exec gunicorn --config deploy/gunicorn.conf.py ;;
  runner)
    # One pass at a time, each at a minute's start; the pass spreads its bots over the minute.
    trap 'exit 0' TERM INT
    while :; do
      python main.py run-due || echo "run-due exited $? (see above)" >&2
      sleep $((60 - $(date +%s) % 60)) &
      wait $!
    done ;;
  migrate)
    migrate ;;
  flask)
    shift
    exec flask --app saas "$@" ;;
  *)
    exec "$@" ;;
esac
