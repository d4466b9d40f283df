# shellcheck shell=bash
# The inner engine's network namespace. A dockerd rewrites the firewall of the namespace it runs in
# (nat DOCKER chain, FORWARD policy, DOCKER-USER, its bridges). In a container's own namespace that
# is harmless; with `--net=host` it is the host's firewall: published ports' DNAT rules vanish and the
# runner's REJECT rules land on the host's docker0. So, with host networking, dockerd gets a namespace
# of its own: a veth pair to the namespace we were given, a default route through it, and NAT plus
# forwarding in two chains of our own (IRON-NS-<id>), which stop removes again. Nothing else of the
# given namespace is touched (ip_forward is switched on only if it was off, and restored on stop).
#
# INNER_NETNS: auto (default; own namespace when the given one looks like a host's), on, off.
# IRON_NETWORK_MODE is exported as `host` or `container` for the runner's configuration checks.
ENGINE_NETNS=iron-engine
NETNS_STATE=/var/lib/docker/iron-netns.state   # id and subnet, so a restart cleans a killed run's rules
NETNS_ID=""
NETNS_HOST_IF=""
NETNS_SUBNET=""
NETNS_FORWARD_WAS=""
ENGINE_NETNS_PREFIX=(env)   # what starts a process in the engine's namespace (nsenter once it has one)
HOST_IPTABLES=iptables

# 0 when the namespace we were given is a host's rather than a container's own. A container's
# default route leaves through a veth (Docker, Kubernetes CNIs), a host's through a real device.
# Without a default route: a host's when it already carries bridges or firewall rules other than
# Docker's embedded-DNS ones (DOCKER_OUTPUT / DOCKER_POSTROUTING, in every container on a user network).
# Being wrong towards "host" costs only an extra hop; towards "container", a loopback API_URL refused.
given_netns_is_hosts() {
  local dev
  dev=$(ip -o route show default 2>/dev/null | awk '{ for (i = 1; i < NF; i++) if ($i == "dev") { print $(i + 1); exit } }')
  if [ -n "$dev" ]; then
    ip -d -o link show dev "$dev" 2>/dev/null | grep -q ' veth ' && return 1
    return 0
  fi
  ip -o link show type bridge 2>/dev/null | grep -q . && return 0
  { iptables-nft-save 2>/dev/null; iptables-legacy-save 2>/dev/null; } |
    grep '^-A ' | grep -qvE '^-A (DOCKER_OUTPUT|DOCKER_POSTROUTING) |^-A (OUTPUT|POSTROUTING) .*-j DOCKER_(OUTPUT|POSTROUTING)$' && return 0
  return 1
}

# Sets IRON_NETWORK_MODE and returns 0 when the engine is to get its own namespace.
decide_netns() {
  local mode
  if given_netns_is_hosts; then mode=host; else mode=container; fi
  export IRON_NETWORK_MODE=${IRON_NETWORK_MODE:-$mode}
  case "${INNER_NETNS:-auto}" in
    on) return 0 ;;
    off) return 1 ;;
    auto) [ "$IRON_NETWORK_MODE" = host ] ;;
    *) die "INNER_NETNS must be auto, on or off" 2 ;;
  esac
}

# Runs a command in the engine's namespace (only the network namespace: `ip netns exec` would also
# remount /sys).
in_engine_netns() {
  if [ -n "$NETNS_ID" ]; then nsenter --net="/run/netns/$ENGINE_NETNS" "$@"; else "$@"; fi
}

# The given namespace's firewall flavour: rules go where its other rules are.
host_iptables() {
  if iptables-legacy-save 2>/dev/null | grep -q '^-A ' && ! iptables-nft-save 2>/dev/null | grep -q '^-A '; then
    HOST_IPTABLES=iptables-legacy
  else
    HOST_IPTABLES=iptables-nft
  fi
}

# A /30 in 10.254.0.0/16 that no route of the given namespace covers (other than the default).
pick_subnet() {
  local seed=$((16#${NETNS_ID:0:4})) i n a
  for i in $(seq 0 63); do
    n=$(( (seed + i * 97) % 16384 ))
    a="10.254.$((n / 64)).$(( (n % 64) * 4 ))"
    if ! ip -o route show to match "$a" 2>/dev/null | grep -vq '^default'; then printf '%s' "$a"; return 0; fi
  done
  return 1
}

netns_rules() { # add|del
  local op=$1 chain="IRON-NS-$NETNS_ID" ipt="$HOST_IPTABLES -w 5"
  if [ "$op" = add ]; then
    $ipt -t nat -N "$chain" && $ipt -N "$chain" || return 1
    $ipt -t nat -A "$chain" -s "$NETNS_SUBNET/30" ! -o "$NETNS_HOST_IF" -j MASQUERADE &&
      $ipt -A "$chain" -i "$NETNS_HOST_IF" -j ACCEPT &&
      $ipt -A "$chain" -o "$NETNS_HOST_IF" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT &&
      $ipt -t nat -I POSTROUTING 1 -j "$chain" &&
      $ipt -I FORWARD 1 -j "$chain" || return 1
  else
    while $ipt -t nat -D POSTROUTING -j "$chain" 2>/dev/null; do :; done
    while $ipt -D FORWARD -j "$chain" 2>/dev/null; do :; done
    $ipt -t nat -F "$chain" 2>/dev/null && $ipt -t nat -X "$chain" 2>/dev/null
    $ipt -F "$chain" 2>/dev/null && $ipt -X "$chain" 2>/dev/null
    return 0
  fi
}

# What an earlier run of this container left when it was killed (no stop ran): its chains and veth.
netns_clean_stale() {
  [ -f "$NETNS_STATE" ] || return 0
  local id forward save_id=$NETNS_ID save_if=$NETNS_HOST_IF
  # Our own file of key=value lines, parsed, never sourced.
  id=$(sed -n 's/^id=\([0-9a-f]*\)$/\1/p' "$NETNS_STATE")
  forward=$(sed -n 's/^forward=\([01]\)$/\1/p' "$NETNS_STATE")
  [ -n "$id" ] || { rm -f "$NETNS_STATE"; return 0; }
  NETNS_ID=$id NETNS_HOST_IF="iron-$id"
  netns_rules del
  ip link del "$NETNS_HOST_IF" 2>/dev/null || true
  [ "$forward" != 0 ] || echo 0 >/proc/sys/net/ipv4/ip_forward 2>/dev/null || true
  NETNS_ID=$save_id NETNS_HOST_IF=$save_if
  rm -f "$NETNS_STATE"
}

setup_engine_netns() {
  command -v nsenter >/dev/null || die "host networking needs nsenter (util-linux) in the image" 2
  host_iptables
  netns_clean_stale
  NETNS_ID=$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
  NETNS_HOST_IF="iron-$NETNS_ID"
  NETNS_SUBNET=$(pick_subnet) || die "host networking: no free /30 in 10.254.0.0/16 for the engine's namespace" 2
  local base=${NETNS_SUBNET%.*} last=${NETNS_SUBNET##*.}
  local outer="$base.$((last + 1))" inner="$base.$((last + 2))"
  NETNS_FORWARD_WAS=$(cat /proc/sys/net/ipv4/ip_forward)
  mkdir -p "$(dirname "$NETNS_STATE")"
  printf 'id=%s\nsubnet=%s\nforward=%s\n' "$NETNS_ID" "$NETNS_SUBNET" "$NETNS_FORWARD_WAS" >"$NETNS_STATE"
  ip netns del "$ENGINE_NETNS" 2>/dev/null || true
  ip netns add "$ENGINE_NETNS" || die "host networking: cannot create a network namespace for the engine (is the container --privileged?)" 2
  if ! { ip link add "$NETNS_HOST_IF" type veth peer name eth0 netns "$ENGINE_NETNS" &&
    ip addr add "$outer/30" dev "$NETNS_HOST_IF" && ip link set "$NETNS_HOST_IF" up &&
    ip -n "$ENGINE_NETNS" link set lo up && ip -n "$ENGINE_NETNS" addr add "$inner/30" dev eth0 &&
    ip -n "$ENGINE_NETNS" link set eth0 up && ip -n "$ENGINE_NETNS" route add default via "$outer"; }; then
    teardown_engine_netns
    die "host networking: cannot wire the engine's namespace (veth $NETNS_HOST_IF)" 2
  fi
  if ! netns_rules add; then
    teardown_engine_netns
    die "host networking: cannot add the NAT chains IRON-NS-$NETNS_ID with $HOST_IPTABLES" 2
  fi
  [ "$NETNS_FORWARD_WAS" = 1 ] || echo 1 >/proc/sys/net/ipv4/ip_forward
  # shellcheck disable=SC2034 # read by supervise_dockerd (engine.sh)
  ENGINE_NETNS_PREFIX=(nsenter "--net=/run/netns/$ENGINE_NETNS")
  log "host networking: the engine runs in a network namespace of its own ($inner/30 via $NETNS_HOST_IF, NAT in chains IRON-NS-$NETNS_ID); the host's firewall is left alone"
}

teardown_engine_netns() {
  [ -n "$NETNS_ID" ] || return 0
  netns_rules del
  ip link del "$NETNS_HOST_IF" 2>/dev/null || true
  ip netns del "$ENGINE_NETNS" 2>/dev/null || true
  [ "$NETNS_FORWARD_WAS" != 0 ] || echo 0 >/proc/sys/net/ipv4/ip_forward 2>/dev/null || true
  rm -f "$NETNS_STATE"
  NETNS_ID=""
}
