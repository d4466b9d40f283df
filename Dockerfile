# iron-runner images. Two targets:
#
#   docker build -t iron/runner .              the runner with its own Docker engine (default target)
#   docker build -t iron/api --target api .    the iron-api server
#   docker build -t iron/lb --target lb .      haproxy for several iron-api replicas (deploy/compose/replicas.yml)
#   docker build -t iron/postgres --target postgres .   PostgreSQL 15 for them (Debian's package)
#
# The base images are build args so that the public defaults work anywhere with registry access,
# while `npm run images` (scripts/images) passes locally built ones and builds fully offline.
# No "# syntax=" line on purpose: BuildKit would try to pull a frontend image.
ARG NODE_IMAGE=node:24-bookworm-slim
ARG RUNTIME_IMAGE=debian:bookworm-slim
ARG DIND_IMAGE=debian:trixie-slim
ARG LB_IMAGE=debian:bookworm-slim
ARG POSTGRES_IMAGE=debian:bookworm-slim

# ---- build: dev dependencies, tsc, then prune to production dependencies -----------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /build
# The bracket globs make the offline npm cache optional: they match nothing in a plain checkout
# (the glob must start in the first path component, or BuildKit fails on the missing folder).
COPY package.json package-lock.json .stat[e]/image/npm-cach[e] ./
# npm ci refuses a lockfile that lacks other platforms' optional packages (EUSAGE "Missing: ... from
# lock file"); npm install --no-save then installs exactly the locked versions without rewriting it.
RUN set -e; opts="--ignore-scripts --no-audit --no-fund --loglevel=error"; \
    if [ -d _cacache ]; then opts="$opts --offline --cache /build"; fi; \
    if ! npm ci $opts 2>/tmp/npm-ci.log; then \
      grep -q EUSAGE /tmp/npm-ci.log || { cat /tmp/npm-ci.log >&2; exit 1; }; \
      npm install --no-save $opts; \
    fi
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# The HUD (hud/ -> dist/hud, served by iron-api at /hud/); the cloud-init script is bundled into it.
COPY hud ./hud
COPY deploy/cloud-init/user-data.sh ./deploy/cloud-init/user-data.sh
RUN npx tsc -p tsconfig.build.json \
 && npx vite build --config hud/vite.config.ts --logLevel warn \
 && npm prune --omit=dev --offline --ignore-scripts --no-audit --no-fund --loglevel=error \
 && rm -rf _cacache \
 && cp "$(command -v node)" /build/node

# ---- api: iron-api as an unprivileged user, data in a volume ----------------------------------
FROM ${RUNTIME_IMAGE} AS api
RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/iron-api --create-home --shell /usr/sbin/nologin iron
COPY --from=build /build/node /usr/local/bin/node
COPY --from=build /build/package.json /opt/iron/package.json
COPY --from=build /build/node_modules /opt/iron/node_modules
COPY --from=build /build/dist/src /opt/iron/dist/src
COPY --from=build /build/dist/hud /opt/iron/dist/hud
COPY docker/bin/ /usr/local/bin/
ENV NODE_ENV=production HOST=0.0.0.0 PORT=8080 DATA_DIR=/var/lib/iron-api
VOLUME /var/lib/iron-api
USER iron
WORKDIR /var/lib/iron-api
EXPOSE 8080
# Node handles SIGTERM/SIGINT itself (graceful close) and starts no children, so no init is needed.
ENTRYPOINT ["node", "/opt/iron/dist/src/server/main.js"]

# ---- runner: Docker-in-Docker (docker run --privileged) -----------------------------------------
FROM ${DIND_IMAGE} AS runner
# Locally built bases already hold these packages; the public default installs them here.
RUN set -eu; missing=0; \
    for c in dockerd docker containerd crun runc iptables mkfs.btrfs tini jq ip losetup findmnt nsenter curl; do command -v "$c" >/dev/null || missing=1; done; \
    if [ "$missing" = 1 ]; then \
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        docker.io docker-cli crun iptables ca-certificates procps btrfs-progs iproute2 tini jq util-linux curl \
      && rm -rf /var/lib/apt/lists/* \
      && cd /usr/bin && rm -f ctr containerd-shim containerd-shim-runc-v1; \
    fi
COPY --from=build /build/node /usr/local/bin/node
COPY --from=build /build/package.json /opt/iron/package.json
COPY --from=build /build/node_modules /opt/iron/node_modules
COPY --from=build /build/dist/src /opt/iron/dist/src
COPY docker/bin/ /usr/local/bin/
# The runc wrapper is only in the context when scripts/images found it; the entrypoint uses it only
# on hosts whose capability bounding set lacks CAP_SYS_RESOURCE.
COPY docker/runner-entrypoint.sh docker/lib/ .stat[e]/image/runc-nosysresourc[e] .stat[e]/image/crun-nosysresourc[e] /opt/iron/docker/
ENV NODE_ENV=production JOBS_DIR=/var/lib/iron-runner
# No VOLUME for /var/lib/docker: an anonymous volume would be left behind by every `docker rm`. Mount a
# named one (docker run -v iron-runner-1:/var/lib/docker); without it the entrypoint puts the engine's
# storage in a btrfs loop file inside the container, which goes away with the container.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/tini", "--", "/opt/iron/docker/runner-entrypoint.sh"]

# ---- lb: haproxy from Debian in front of the iron-api replicas ----------------------------------
FROM ${LB_IMAGE} AS lb
# A locally built base already holds haproxy; the public default installs it here.
RUN command -v haproxy >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends haproxy && rm -rf /var/lib/apt/lists/*; }
COPY docker/haproxy.cfg /etc/haproxy/haproxy.cfg
RUN haproxy -c -q -f /etc/haproxy/haproxy.cfg
USER haproxy
EXPOSE 8080
# -W: master-worker (reloads on SIGUSR2), -db: foreground; SIGTERM stops it (SIGUSR1: soft stop).
ENTRYPOINT ["haproxy", "-W", "-db", "-f", "/etc/haproxy/haproxy.cfg"]

# ---- postgres: PostgreSQL 15 from Debian for the replicas' shared database -----------------------
FROM ${POSTGRES_IMAGE} AS postgres
RUN set -e; [ -x /usr/lib/postgresql/15/bin/postgres ] || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql-15 && rm -rf /var/lib/apt/lists/*; }; \
    install -d -o postgres -g postgres -m 0700 /var/lib/postgresql/data; \
    install -d -o postgres -g postgres -m 0775 /var/run/postgresql
COPY docker/postgres-entrypoint.sh /usr/local/bin/iron-postgres
ENV PGDATA=/var/lib/postgresql/data LANG=C.UTF-8
USER postgres
EXPOSE 5432
STOPSIGNAL SIGINT
ENTRYPOINT ["/usr/local/bin/iron-postgres"]
