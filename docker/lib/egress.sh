# The runner installs SMTP/metadata egress rules for its job network itself (src/sandbox/egress.ts,
# comment "iron-runner:<bridge>"). This covers what it does not: the inner engine's default bridge,
# where anything started by hand (docker exec ... docker run) lands. Same variables, same defaults.
egress_rules_default_bridge() {
  [ "${MANAGE_EGRESS_RULES:-true}" != false ] || return 0
  command -v iptables >/dev/null || { log "no iptables: default bridge egress rules not installed"; return 0; }
  local ports=${BLOCKED_PORTS:-25,465,587,2525} addrs=${BLOCKED_ADDRESSES:-169.254.0.0/16} chain addr
  local tag=(-m comment --comment iron-entrypoint:docker0)
  local rules=()
  for chain in DOCKER-USER INPUT; do
    [ "$ports" = none ] || rules+=("$chain -i docker0 -p tcp -m multiport --dports $ports")
    for addr in ${addrs//,/ }; do [ "$addr" = none ] || rules+=("$chain -i docker0 -d $addr"); done
  done
  local r
  for r in "${rules[@]}"; do
    # shellcheck disable=SC2086 # the rule is a word list on purpose
    iptables -w 5 -C $r "${tag[@]}" -j REJECT 2>/dev/null && continue
    # shellcheck disable=SC2086
    iptables -w 5 -I ${r%% *} 1 ${r#* } "${tag[@]}" -j REJECT ||
      log "cannot install egress rule: $r"
  done
}
