# netq worker image: `docker build -t netq .`, then `docker run ... netq` runs `netq worker`;
# any other netq command works too: `docker run --rm ... netq network:rebuildall`.
# It needs the host's Docker socket (/var/run/docker.sock) and, to write Dokku's IP./PORT. files,
# Dokku's root mounted at NETQ_DOKKU_ROOT (see docker-compose.yml).
#
# The base image is a build argument: the official node:20-bookworm-slim by default; on a machine that cannot
# pull, scripts/local-images builds a stand-in: `docker build --build-arg NODE_IMAGE=netq-local/node:20 -t netq .`
# (docker-compose.yml passes NETQ_NODE_IMAGE through).
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: the `prepare` script would build before the sources are here, and the optional
# native add-ons (cpu-features, ssh2's crypto binding) need a compiler; netq runs without them.
RUN npm ci --ignore-scripts --no-audit --no-fund

# the runtime dependencies: they depend on the lock file alone, so a change of the sources reuses this layer
FROM deps AS runtime-deps
RUN npm prune --omit=dev --ignore-scripts --no-audit --no-fund

FROM deps AS build
COPY tsconfig.json tsconfig.build.json ./
COPY bin ./bin
COPY src ./src
COPY workers ./workers
COPY producers ./producers
COPY scripts/bundle.mjs ./scripts/bundle.mjs
RUN npm run build

FROM ${NODE_IMAGE}
ENV NODE_ENV=production
# The image runs as `netq` (uid and gid 10001), which owns nothing in it: the code is root's and read-only to it.
# That is enough for `netq serve` and the other producers (they only talk to Redis). The worker also needs the
# Docker socket and Dokku's folders; docker-compose.yml gives it both without root (see the worker service there):
# the socket's group (group_add) and Dokku's own user (user:).
RUN groupadd --gid 10001 netq \
  && useradd --uid 10001 --gid netq --home-dir /app --no-create-home --shell /usr/sbin/nologin netq
WORKDIR /app
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=runtime-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin ./bin
USER netq
# node handles SIGTERM itself (the worker finishes its active jobs, then exits 0).
ENTRYPOINT ["node", "bin/netq.js"]
CMD ["worker"]
