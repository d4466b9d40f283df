#!/usr/bin/env bash
# iron/runner entrypoint, run by tini (PID 1). Order matters:
#   1. secrets leave the environment (only the runner gets them, as files on a tmpfs);
#   2. with a mounted Docker socket or DOCKER_HOST: no engine of our own, just run the runner;
#   3. otherwise start dockerd under a supervisor (in a network namespace of its own when the container
#      shares the host's), wait for it, add egress rules for its bridges, put the task input directory
#      on a tmpfs;
#   4. load preloaded image archives; run iron-runner as a child and forward signals to it;
#   5. when the runner has drained and exited, stop dockerd, release the storage, exit with its status.
set -eu
LIB=/opt/iron/docker
. "$LIB/common.sh"
. "$LIB/envfile.sh"
. "$LIB/secrets.sh"
. "$LIB/netns.sh"
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
  decide_netns || true   # only for IRON_NETWORK_MODE: this engine is not ours to place
  log "using the Docker engine at ${DOCKER_HOST:-/var/run/docker.sock}; not starting one"
  PRELOAD_DOCKER_HOST=${DOCKER_HOST:-} preload_images
  exec "${RUNNER[@]}"
fi

if decide_netns; then own_netns=1; else own_netns=0; fi
cgroups_writable
choose_runtime
choose_storage
[ "$own_netns" = 0 ] || setup_engine_netns
# The runner cannot see the job bridge of an engine in its own namespace: the entrypoint installs
# those rules there (below) instead.
runner_env=()
[ "$own_netns" = 0 ] || runner_env=(MANAGE_EGRESS_RULES=false)
rm -f /var/run/docker.pid /var/run/docker.sock
supervise_dockerd &
SUPERVISOR=$!
RUNNER_PID=""
stopped=0
stop_engine() {
  [ "$stopped" = 0 ] || return 0
  stopped=1
  [ -z "$RUNNER_PID" ] || kill -TERM "$RUNNER_PID" 2>/dev/null || true
  kill -TERM "$SUPERVISOR" 2>/dev/null || true
  wait "$SUPERVISOR" 2>/dev/null || true
  release_storage
  teardown_engine_netns
}
# Whatever ends this script (a failed start included) stops the engine and removes its namespace.
trap stop_engine EXIT

# The runner starts now, so its health and readiness endpoints answer from the first second. The
# engine listens on a private socket until its egress rules, the input tmpfs and the preloaded images
# are in place; only then does /var/run/docker.sock appear, and the runner, which waits for it
# ("starting: waiting for the Docker engine" in /readyz), takes tasks.
env "${runner_env[@]}" "${RUNNER[@]}" &
RUNNER_PID=$!
# First signal: the runner drains; a second one makes it give its tasks back now.
trap 'kill -TERM "$RUNNER_PID" 2>/dev/null || true' TERM INT
if wait_for_engine "$RUNNER_PID" && kill -0 "$RUNNER_PID" 2>/dev/null; then
  egress_rules docker0
  [ "$own_netns" = 0 ] || egress_rules "${JOB_NETWORK:-iron-jobs}" job
  input_tmpfs
  PRELOAD_DOCKER_HOST=unix://$ENGINE_SOCKET preload_images
  ln -sf "$ENGINE_SOCKET" /var/run/docker.sock
fi
rc=0
while :; do
  wait "$RUNNER_PID" && rc=0 || rc=$?
  kill -0 "$RUNNER_PID" 2>/dev/null || break
done
trap - TERM INT
stop_engine
log "runner exited with status $rc"
exit "$rc"
