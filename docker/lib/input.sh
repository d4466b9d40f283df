# shellcheck shell=bash
# Task input (payload and config, plaintext once decrypted) reaches jobs as a read-only bind of a
# per-task directory under $JOBS_DIR/input when the runner shares the engine's filesystem, which it
# does with the image's own engine. A tmpfs there keeps that plaintext off every disk; pages are only
# used while a task's files exist.
input_tmpfs() {
  local dir="${JOBS_DIR:-/var/lib/iron-runner}/input"
  mkdir -p "$dir" && chmod 0700 "$dir"
  is_mounted "$dir" && return 0
  if mount -t tmpfs -o "size=${INPUT_TMPFS_SIZE:-256m},mode=0700,nosuid,nodev,noexec" tmpfs "$dir" 2>/dev/null; then
    log "task input on a tmpfs at $dir"
  else
    log "warning: no tmpfs at $dir (not --privileged?): task input is written to the state volume until each task ends"
  fi
}
