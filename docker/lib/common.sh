# shellcheck shell=bash
# Shared helpers of the runner entrypoint. Messages go to stderr with a fixed prefix so they are
# easy to tell apart from the runner's JSON lines; nothing here ever prints a secret's value.
log() { printf 'iron-entrypoint: %s\n' "$*" >&2; }
die() { log "error: $*"; exit "${2:-1}"; }

# 0 when a path is a mount point (file or directory), from the kernel's own table.
is_mounted() { awk -v p="$1" '$5 == p { found = 1 } END { exit !found }' /proc/self/mountinfo; }
