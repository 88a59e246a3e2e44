# matrix-appservice-personas: the bridge as a container.
#
#   docker build -t matrix-appservice-personas .
#   docker run --rm -v "$PWD/config:/config" matrix-appservice-personas \
#       -r -c /config/config.yaml -u http://personas:9000 -f /config/registration.yaml
#   docker run -d --name personas -v "$PWD/config:/config:ro" -v personas-data:/data \
#       -p 127.0.0.1:9000:9000 matrix-appservice-personas
#
# Mounted at run time: /config/config.yaml and /config/registration.yaml (the defaults of the
# command below), and a volume at /data for the SQLite database (set database.path to
# /data/personas.db). In a container set appservice.bind to 0.0.0.0 so Synapse can reach it.
# See docs/admin-guide.md.

# ---- build: all dependencies, compile TypeScript to dist/ -----------------------------------
FROM node:24-slim AS build
WORKDIR /app
# better-sqlite3 compiles from source when no prebuilt binary fits the platform.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
# package.json carries the overrides (crypto shim from shims/) and allowScripts; both are
# needed before npm ci.
COPY package.json package-lock.json ./
COPY shims/ ./shims/
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src/ ./src/
RUN npm run build

# ---- runtime dependencies only ---------------------------------------------------------------
FROM build AS production-deps
RUN npm ci --omit=dev --no-audit --no-fund

# ---- runtime image -------------------------------------------------------------------------
FROM node:24-slim
# dist/main.js sizes V8's heap itself (runtime.* in the config) and sets MALLOC_ARENA_MAX=2
# when unset; stated here for every process in the container (docs/admin-guide.md).
ENV NODE_ENV=production MALLOC_ARENA_MAX=2
WORKDIR /app
COPY package.json package-lock.json ./
# The override target: node_modules links to it.
COPY shims/ ./shims/
COPY --from=production-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY migrations/ ./migrations/
# Seed personas shipped as examples; point personas.directory at /config/personas for your own.
COPY personas/ ./personas/
COPY config.sample.yaml ./
RUN mkdir -p /data /config && chown node:node /data
USER node
# Relative paths in the config land in the volume.
WORKDIR /data
VOLUME ["/data"]
# appservice.port's default.
EXPOSE 9000
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
  CMD ["node", "/app/dist/doctor/healthcheck.js", "/config/config.yaml"]
ENTRYPOINT ["node", "/app/dist/main.js"]
CMD ["-c", "/config/config.yaml", "-f", "/config/registration.yaml"]
