# netq worker image: `docker build -t netq .`, then `docker run ... netq` runs `netq worker`;
# any other netq command works too: `docker run --rm ... netq network:rebuildall`.
# It needs the host's Docker socket (/var/run/docker.sock) and, to write Dokku's IP./PORT. files,
# Dokku's root mounted at NETQ_DOKKU_ROOT (see docker-compose.yml).

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: the `prepare` script would build before the sources are here, and the optional
# native add-ons (cpu-features, ssh2's crypto binding) need a compiler; netq runs without them.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY bin ./bin
COPY src ./src
COPY workers ./workers
COPY producers ./producers
COPY scripts/bundle.mjs ./scripts/bundle.mjs
RUN npm run build && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin ./bin
# Runs as root: it talks to the Docker socket and writes files under Dokku's root.
# node handles SIGTERM itself (the worker finishes its active jobs, then exits).
ENTRYPOINT ["node", "bin/netq.js"]
CMD ["worker"]
