# shellcheck shell=bash
# Air-gapped hosts: every `docker save` archive in PRELOAD_DIR is loaded into the engine before the
# runner starts, so tasks can use those images without any registry. A bad archive is reported and
# skipped; tasks needing its image then fail with the engine's "image not found".
preload_images() {
  local dir=${PRELOAD_DIR:-/var/lib/iron-runner/preload} f n=0
  [ -d "$dir" ] || return 0
  for f in "$dir"/*.tar "$dir"/*.tar.gz "$dir"/*.tgz; do
    [ -f "$f" ] || continue
    if DOCKER_HOST=${PRELOAD_DOCKER_HOST:-} docker load -q -i "$f" >/dev/null; then n=$((n + 1)); else log "cannot load $f; skipped"; fi
  done
  [ "$n" = 0 ] || log "preloaded $n image archive(s) from $dir"
}
