#!/bin/bash
# EC2 (or any cloud-init) user data: installs Docker from the distribution and starts RUNNERS
# iron/runner containers that restart with the machine. Paste it as user data after filling the
# settings below, or better, have your launch template fetch the secrets (see SECRETS below).
#
# Nothing secret is echoed: `set -x` is never used, the values go into a root-only env file, and the
# cloud-init log (/var/log/cloud-init-output.log) only shows what is being done.
set -euo pipefail

# ---- settings --------------------------------------------------------------------------------
CLUSTER_ID="${CLUSTER_ID:-}"            # from iron-api's first start or `iron cluster create`
API_URL="${API_URL:-http://iron-api.internal:8080}"
RUNNERS="${RUNNERS:-1}"                 # containers on this machine; each gets CONCURRENCY slots
IMAGE="${IMAGE:-iron/runner:latest}"
EXTRA_ENV="${EXTRA_ENV:-}"              # more runner settings, one KEY=VALUE per line (DISK_PER_JOB=10G ...)
# SECRETS: CLUSTER_TOKEN and, for encrypted payloads, DECRYPTION_KEY (the PEM text). Prefer fetching
# them here from your secret store, e.g. with the AWS CLI:
#   CLUSTER_TOKEN=$(aws ssm get-parameter --with-decryption --name /iron/cluster-token --query Parameter.Value --output text)
CLUSTER_TOKEN="${CLUSTER_TOKEN:-}"
DECRYPTION_KEY="${DECRYPTION_KEY:-}"
# -----------------------------------------------------------------------------------------------

log() { printf 'iron-runner user-data: %s\n' "$*"; }
if [ -z "$CLUSTER_ID" ] || [ -z "$CLUSTER_TOKEN" ]; then log "CLUSTER_ID and CLUSTER_TOKEN must be set"; exit 1; fi
[[ "$RUNNERS" =~ ^[1-9][0-9]*$ ]] || { log "RUNNERS must be a positive number"; exit 1; }

if ! command -v docker >/dev/null; then
  log "installing Docker from the distribution"
  if command -v apt-get >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
  elif command -v dnf >/dev/null; then
    dnf install -y -q docker
  elif command -v yum >/dev/null; then
    yum install -y -q docker
  else
    log "no apt-get, dnf or yum: install Docker first"; exit 1
  fi
fi
systemctl enable --now docker >/dev/null 2>&1 || service docker start

# The env file is the only place the secrets are written: root only, read by `docker run --env-file`.
install -d -m 0700 /etc/iron-runner
umask 077
{
  printf 'CLUSTER_ID=%s\nCLUSTER_TOKEN=%s\nAPI_URL=%s\n' "$CLUSTER_ID" "$CLUSTER_TOKEN" "$API_URL"
  [ -z "$EXTRA_ENV" ] || printf '%s\n' "$EXTRA_ENV"
} >/etc/iron-runner/runner.env
# A PEM spans several lines, which --env-file cannot carry: it goes in a file the runner reads.
if [ -n "$DECRYPTION_KEY" ]; then
  printf '%s\n' "$DECRYPTION_KEY" >/etc/iron-runner/decryption-key.pem
  echo 'DECRYPTION_KEY_FILE=/run/secrets/decryption-key.pem' >>/etc/iron-runner/runner.env
fi
unset CLUSTER_TOKEN DECRYPTION_KEY

for i in $(seq 1 "$RUNNERS"); do
  name=iron-runner-$i
  docker rm -f "$name" >/dev/null 2>&1 || true
  args=(--privileged -d --name "$name" --restart unless-stopped --stop-timeout 340
        --env-file /etc/iron-runner/runner.env -v "$name-docker:/var/lib/docker" -v "$name-state:/var/lib/iron-runner")
  [ ! -f /etc/iron-runner/decryption-key.pem ] || args+=(-v /etc/iron-runner/decryption-key.pem:/run/secrets/decryption-key.pem:ro)
  [ ! -d /etc/iron-runner/preload ] || args+=(-v /etc/iron-runner/preload:/var/lib/iron-runner/preload:ro)
  docker run "${args[@]}" "$IMAGE" >/dev/null
  log "started $name"
done
