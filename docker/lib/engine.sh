# shellcheck shell=bash
# The runner's own Docker engine: storage for per-task disk quotas, the OCI runtime (crun by default,
# behind the capability wrapper where the host needs it), and a supervisor that restarts dockerd when
# it dies or hangs (the runner meanwhile reports itself not ready and its engine calls fail fast as
# retryable, so it takes no tasks).
# dockerd listens here; /var/run/docker.sock (what the runner and `docker exec ... docker` use) is a
# link to it made once the engine is ready for tasks (runner-entrypoint.sh).
ENGINE_SOCKET=/run/iron-engine/docker.sock
DOCKERD_ARGS=(-H "unix://$ENGINE_SOCKET")
BTRFS_MOUNT=/var/lib/iron-docker-btrfs

# Another engine was handed to us: a mounted socket or DOCKER_HOST.
external_engine() {
  [ -n "${DOCKER_HOST:-}" ] && return 0
  is_mounted /run/docker.sock || is_mounted /var/run/docker.sock
}

# Without --privileged (cap-add ALL variant) cgroup v1 hierarchies are mounted read-only and the inner
# runc cannot create cgroups. A plain remount,rw fails with EBUSY; a bind remount works.
cgroups_writable() {
  local m
  while IFS= read -r m; do
    mount -o remount,bind,rw "$m" 2>/dev/null || log "cannot make $m writable; the engine may fail to start containers"
  done < <(awk '($3 == "cgroup" || $3 == "cgroup2") && $4 ~ /^ro(,|$)/ { print $2 }' /proc/self/mounts)
}

# INNER_RUNTIME: crun (default: smaller and faster to start a container than runc) or runc. Some
# hosts (Firecracker VMs among them) drop CAP_SYS_RESOURCE from the bounding set; either runtime then
# fails "unable to apply caps" for any privileged container, so it is run through a wrapper that
# drops that capability from the container's spec.
choose_runtime() {
  local runtime=${INNER_RUNTIME:-crun} path
  case "$runtime" in
    crun) path=/usr/bin/crun ;;
    runc) path=/usr/sbin/runc ;;
    *) die "INNER_RUNTIME must be crun or runc" 2 ;;
  esac
  [ -x "$path" ] || die "INNER_RUNTIME=$runtime: $path is not in the image" 2
  local capbnd; capbnd=$(awk '/^CapBnd:/ { print $2 }' /proc/self/status)
  if ! (( (16#$capbnd >> 24) & 1 )); then
    local wrapper=/opt/iron/docker/$runtime-nosysresource
    if [ -x "$wrapper" ]; then
      log "CAP_SYS_RESOURCE is not in the bounding set: using the $runtime wrapper"
      path=$wrapper
    else
      log "CAP_SYS_RESOURCE is not in the bounding set and the image has no $runtime wrapper: containers may fail to start"
    fi
  fi
  # "runc" is dockerd's built-in name; ours gets a name of its own.
  DOCKERD_ARGS+=(--add-runtime "iron-$runtime=$path" --default-runtime "iron-$runtime")
}

# overlay2 on the volume is the default. Per-task disk quotas (DISK_PER_JOB) need btrfs, or overlay2
# on xfs mounted with pquota; on anything else a btrfs filesystem in a sparse loop file is made in the
# volume (kept across restarts, gone with the volume) and the engine runs on it. Without a volume at
# /var/lib/docker (the image declares none, so `docker rm` leaves no anonymous volume behind),
# overlay2 cannot stack on the container's own overlayfs: the loop file then lives in the container
# and goes with it.
choose_storage() {
  local mode=${INNER_STORAGE:-auto} fstype opts
  mkdir -p /var/lib/docker
  fstype=$(findmnt -n -o FSTYPE --target /var/lib/docker)
  opts=$(findmnt -n -o OPTIONS --target /var/lib/docker)
  case "$mode" in
    auto)
      if [ "$fstype" = btrfs ]; then DOCKERD_ARGS+=(--storage-driver btrfs); return 0; fi
      if [ "$fstype" = overlay ]; then
        log "no volume at /var/lib/docker: the engine's storage is a btrfs loop file inside this container (mount a named volume there to keep images across re-creation)"
        btrfs_loop; return 0
      fi
      [ -n "${DISK_PER_JOB:-}" ] || return 0
      if [ "$fstype" = xfs ] && [[ ",$opts," =~ ,(prjquota|pquota), ]]; then return 0; fi
      log "DISK_PER_JOB is set and /var/lib/docker is $fstype without project quotas: using a btrfs loop file"
      btrfs_loop ;;
    btrfs-loop) btrfs_loop ;;
    overlay2|vfs) DOCKERD_ARGS+=(--storage-driver "$mode") ;;
    *) die "INNER_STORAGE must be auto, btrfs-loop, overlay2 or vfs" 2 ;;
  esac
}

btrfs_loop() {
  local img=/var/lib/docker/iron-btrfs.img size=${INNER_DISK_SIZE:-32G}
  mkdir -p "$BTRFS_MOUNT"
  if ! is_mounted "$BTRFS_MOUNT"; then
    if [ ! -f "$img" ]; then
      truncate -s "$size" "$img" || die "cannot create the $size loop file (INNER_DISK_SIZE)"
      mkfs.btrfs -q "$img" >/dev/null || die "mkfs.btrfs failed"
    fi
    # mount -o loop sets autoclear: the loop device goes away with the last unmount, which the kernel
    # does itself when the container's mount namespace dies (docker rm -f).
    mount -o loop "$img" "$BTRFS_MOUNT" || die "cannot mount the btrfs loop file (is the container --privileged?)"
  fi
  btrfs_quotas "$BTRFS_MOUNT"
  DOCKERD_ARGS+=(--data-root "$BTRFS_MOUNT" --storage-driver btrfs)
}

# dockerd enables quotas lazily on the first sized container; doing it here lets us tune them first.
# Limits are not enforced while the kernel holds the qgroups "inconsistent" (it may mark them so
# instead of accounting a large subtree drop): never take that shortcut, and rescan a file system
# left inconsistent by an earlier run.
btrfs_quotas() {
  local fs=$1 uuid sys
  btrfs quota enable "$fs" || { log "cannot enable btrfs quotas on $fs: disk limits will not hold"; return 0; }
  uuid=$(findmnt -n -o UUID --target "$fs")
  sys=/sys/fs/btrfs/$uuid/qgroups
  [ ! -w "$sys/drop_subtree_threshold" ] || echo 8 >"$sys/drop_subtree_threshold" 2>/dev/null || true
  if [ "$(cat "$sys/inconsistent" 2>/dev/null || echo 0)" = 1 ]; then
    log "btrfs quota accounting is inconsistent: rescanning"
    btrfs quota rescan -w "$fs" >/dev/null || log "btrfs quota rescan failed"
  fi
}

# dockerd under watch: restarted 2 s after it exits, and killed (then restarted) when it is alive but
# hung: /_ping unanswered within ENGINE_PROBE_TIMEOUT (5 s) ENGINE_PROBE_FAILURES (3) times in a row,
# probed every ENGINE_PROBE_INTERVAL (5 s) once it has answered (or its start timeout has passed).
supervise_dockerd() {
  mkdir -p "$(dirname "$ENGINE_SOCKET")"
  local child=0 stopping=0 rc fails answered started
  local every=${ENGINE_PROBE_INTERVAL:-5} limit=${ENGINE_PROBE_FAILURES:-3}
  trap 'stopping=1; [ "$child" = 0 ] || kill -TERM "$child" 2>/dev/null' TERM
  while [ "$stopping" = 0 ]; do
    # A simple command (no function): $! is then the process that execs dockerd, which signals reach.
    "${ENGINE_NETNS_PREFIX[@]}" env -u CLUSTER_TOKEN_FILE -u DECRYPTION_KEY_FILE dockerd --log-level "${DOCKERD_LOG_LEVEL:-warn}" "${DOCKERD_ARGS[@]}" &
    child=$!
    fails=0 answered=0 started=$SECONDS
    while [ "$stopping" = 0 ] && kill -0 "$child" 2>/dev/null; do
      # A trapped TERM interrupts this wait at once.
      sleep "$every" & wait $! 2>/dev/null || true
      [ "$stopping" = 0 ] || break
      if engine_ping; then fails=0 answered=1; continue; fi
      [ "$answered" = 1 ] || [ $((SECONDS - started)) -ge "${ENGINE_START_TIMEOUT:-60}" ] || continue
      fails=$((fails + 1))
      [ "$fails" -ge "$limit" ] || continue
      log "dockerd did not answer /_ping within ${ENGINE_PROBE_TIMEOUT:-5} s $fails times in a row: killing the hung engine"
      kill -KILL "$child" 2>/dev/null || true
      break
    done
    rc=0; wait "$child" || rc=$?
    # A trapped signal interrupts wait; wait again until dockerd has really gone.
    while kill -0 "$child" 2>/dev/null; do wait "$child" || rc=$?; done
    [ "$stopping" = 0 ] || break
    log "dockerd exited with status $rc; restarting it in 2 s"
    sleep 2
  done
}

engine_ping() {
  [ "$(curl -s --max-time "${ENGINE_PROBE_TIMEOUT:-5}" --unix-socket "$ENGINE_SOCKET" http://docker/_ping 2>/dev/null)" = OK ]
}

# Returns 1 at once when the process $1 (the runner) has exited meanwhile: nothing to wait for then.
wait_for_engine() {
  local deadline=$((SECONDS + ${ENGINE_START_TIMEOUT:-60})) watch=${1:-}
  until engine_ping; do
    [ -z "$watch" ] || kill -0 "$watch" 2>/dev/null || return 1
    [ "$SECONDS" -lt "$deadline" ] || die "the inner Docker engine did not answer within ${ENGINE_START_TIMEOUT:-60} s"
    sleep 0.2
  done
}

release_storage() {
  # dockerd leaves mounts of its own below the data root (its netns and plugin dirs): take them along.
  if is_mounted "$BTRFS_MOUNT"; then umount -R "$BTRFS_MOUNT" 2>/dev/null || umount -l "$BTRFS_MOUNT" || log "cannot unmount $BTRFS_MOUNT"; fi
}
