# shellcheck shell=bash
# The runner installs SMTP/metadata egress rules for its job network itself (src/sandbox/egress.ts,
# comment "iron-runner:<bridge>"). This covers what it does not: the inner engine's default bridge,
# where anything started by hand (docker exec ... docker run) lands. Same variables, same defaults.
# When the engine has a namespace of its own (netns.sh) the runner cannot see its bridges, so the
# job bridge's rules (the same list as src/sandbox/egress.ts) are installed here too, in that namespace.
egress_rules() { # bridge [job]: "job" adds the job-to-job rules
  local bridge=$1 job=${2:-}
  [ "${MANAGE_EGRESS_RULES:-true}" != false ] || return 0
  command -v iptables >/dev/null || { log "no iptables: $bridge egress rules not installed"; return 0; }
  local ports=${BLOCKED_PORTS:-25,465,587,2525} addrs=${BLOCKED_ADDRESSES:-169.254.0.0/16} chain addr
  local tag="-m comment --comment iron-entrypoint:$bridge"
  local reset="-p tcp $tag -j REJECT --reject-with tcp-reset"
  local rules=()
  for chain in DOCKER-USER INPUT; do
    [ "$ports" = none ] || rules+=("$chain -i $bridge -p tcp -m multiport --dports $ports $tag -j REJECT --reject-with tcp-reset")
    for addr in ${addrs//,/ }; do
      [ "$addr" = none ] || rules+=("$chain -i $bridge -d $addr $reset" "$chain -i $bridge -d $addr $tag -j REJECT")
    done
  done
  [ -z "$job" ] || rules+=("DOCKER-USER -i $bridge -o $bridge $reset" "DOCKER-USER -i $bridge -o $bridge $tag -j REJECT")
  local i r
  # Inserted at the top in reverse, so the chain keeps the list's order (tcp resets before catch-alls).
  for ((i = ${#rules[@]} - 1; i >= 0; i--)); do
    r=${rules[$i]}
    # shellcheck disable=SC2086 # the rule is a word list on purpose
    in_engine_netns iptables -w 5 -C $r 2>/dev/null && continue
    # shellcheck disable=SC2086
    in_engine_netns iptables -w 5 -I ${r%% *} 1 ${r#* } || log "cannot install egress rule: $r"
  done
}
