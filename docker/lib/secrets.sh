# shellcheck shell=bash
# Secrets given as environment variables (CLUSTER_TOKEN, DECRYPTION_KEY) are moved into files on a
# private tmpfs and the entrypoint re-executes itself without them, so neither dockerd, containerd,
# the job containers nor any helper ever inherits them; only the runner gets the *_FILE paths.
SECRETS_DIR=/run/iron-secrets

secrets_dir() {
  if ! is_mounted "$SECRETS_DIR"; then
    mkdir -p "$SECRETS_DIR" && chmod 0700 "$SECRETS_DIR"
    # Needs CAP_SYS_ADMIN (--privileged); without it fall back to /dev/shm, also a tmpfs in Docker.
    if ! mount -t tmpfs -o size=1m,mode=0700,nosuid,nodev,noexec tmpfs "$SECRETS_DIR" 2>/dev/null; then
      SECRETS_DIR=/dev/shm/iron-secrets
      mkdir -p "$SECRETS_DIR" && chmod 0700 "$SECRETS_DIR"
    fi
  fi
  printf '%s' "$SECRETS_DIR"
}

# Re-executes "$@" with each secret variable moved to its *_FILE form; returns when there is none.
move_secrets_to_files() {
  # RUNNER_ENV_FILE was read already: reading it again after the re-exec would bring the values back.
  local moved=0 var file dir="" unset_args=(-u RUNNER_ENV_FILE) set_args=()
  for var in CLUSTER_TOKEN DECRYPTION_KEY; do
    [ -n "${!var:-}" ] || continue
    file="${var}_FILE"
    [ -z "${!file:-}" ] || die "set $var or $file, not both" 2
    [ -n "$dir" ] || dir=$(secrets_dir)
    # printf is a builtin: the value never appears on a command line.
    (umask 077 && printf '%s\n' "${!var}" >"$dir/$var")
    unset_args+=(-u "$var")
    set_args+=("$file=$dir/$var")
    moved=1
  done
  [ "$moved" = 1 ] || return 0
  exec env "${unset_args[@]}" "${set_args[@]}" "$@"
}
