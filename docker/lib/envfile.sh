# shellcheck shell=bash
# RUNNER_ENV_FILE: KEY=VALUE lines read before anything else (docker compose hands the runners the
# cluster credentials a bootstrap service created this way). The file is parsed, never sourced.
read_env_file() {
  local file=${RUNNER_ENV_FILE:-} waited=0 line key
  [ -n "$file" ] || return 0
  while [ ! -s "$file" ]; do
    [ "$waited" -lt "${RUNNER_ENV_FILE_WAIT:-120}" ] || die "RUNNER_ENV_FILE $file did not appear" 2
    [ "$waited" != 0 ] || log "waiting for $file"
    sleep 1; waited=$((waited + 1))
  done
  while IFS= read -r line || [ -n "$line" ]; do
    case "$line" in ''|'#'*) continue ;; esac
    key=${line%%=*}
    if ! [[ "$key" =~ ^[A-Z_][A-Z0-9_]*$ ]] || [ "$key" = "$line" ]; then die "RUNNER_ENV_FILE: malformed line (want KEY=VALUE)" 2; fi
    export "$key=${line#*=}"
  done <"$file"
}
