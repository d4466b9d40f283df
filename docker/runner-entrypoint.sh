#!/usr/bin/env bash
# iron/runner entrypoint, run by tini (PID 1). Order matters:
#   1. secrets leave the environment (only the runner gets them, as files on a tmpfs);
#   2. with a mounted Docker socket or DOCKER_HOST: no engine of our own, just run the runner;
#   3. otherwise start dockerd under a supervisor, wait for it, add egress rules for its default bridge,
#      put the task input directory on a tmpfs;
#   4. load preloaded image archives; run iron-runner as a child and forward signals to it;
#   5. when the runner has drained and exited, stop dockerd, release the storage, exit with its status.
set -eu
LIB=/opt/iron/docker
. "$LIB/common.sh"
. "$LIB/envfile.sh"
. "$LIB/secrets.sh"
. "$LIB/engine.sh"
. "$LIB/egress.sh"
. "$LIB/preload.sh"
. "$LIB/input.sh"

# A small young generation: job output streams through short-lived buffers that V8 otherwise lets pile
# up (tens of MiB) before it collects them (docs/operations.md, "Memory of the runner process").
RUNNER=(node --max-semi-space-size=1 /opt/iron/dist/src/runner/main.js)
# `docker run iron/runner exec --image ...` and friends reach iron-runner's own subcommands.
if [ "$#" -gt 0 ]; then RUNNER+=("$@"); fi

if [ -z "${IRON_ENTRYPOINT_REEXEC:-}" ]; then
  read_env_file
  export IRON_ENTRYPOINT_REEXEC=1
  move_secrets_to_files "$0" "$@"
fi
unset IRON_ENTRYPOINT_REEXEC

if external_engine; then
  log "using the Docker engine at ${DOCKER_HOST:-/var/run/docker.sock}; not starting one"
  preload_images
  exec "${RUNNER[@]}"
fi

cgroups_writable
choose_runtime
choose_storage
rm -f /var/run/docker.pid
supervise_dockerd &
SUPERVISOR=$!
stop_engine() {
  kill -TERM "$SUPERVISOR" 2>/dev/null || true
  wait "$SUPERVISOR" 2>/dev/null || true
  release_storage
}
wait_for_engine
egress_rules_default_bridge
input_tmpfs
preload_images

"${RUNNER[@]}" &
RUNNER_PID=$!
# First signal: the runner drains; a second one makes it give its tasks back now.
trap 'kill -TERM "$RUNNER_PID" 2>/dev/null || true' TERM INT
rc=0
while :; do
  wait "$RUNNER_PID" && rc=0 || rc=$?
  kill -0 "$RUNNER_PID" 2>/dev/null || break
done
trap - TERM INT
stop_engine
log "runner exited with status $rc"
exit "$rc"
