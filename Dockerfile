# tasks-api production image. Not built where it was written (no Docker engine on those machines):
# test/deployment/container.test.ts reproduces it in every `make test` — reading this file's npm ci
# line, ENV, HEALTHCHECK and CMD — and runs its release step, start, health check and SIGTERM.
#
#   docker build -t tasks-api .
#   docker run --rm -e DATABASE_URL=... -e DATABASE_MIGRATION_URL=... tasks-api node scripts/migrate.ts   # release step
#   docker run -p 8000:8000 --stop-timeout 30 -e DATABASE_URL=... -e BETTER_AUTH_URL=... tasks-api
ARG NODE_IMAGE=node:24-slim

# --- dependencies: production packages only --------------------------------------------------
FROM ${NODE_IMAGE} AS dependencies
WORKDIR /app
COPY package.json package-lock.json ./
COPY patches ./patches
# --omit=optional leaves out embedded-postgres' PostgreSQL binaries (60 MB; a production instance
# always has DATABASE_URL). --ignore-scripts: no production package needs an install script (the
# two the project approves are the dev-only `node` package and those binaries). The patches in
# patches/ (patch-package, a devDependency) are applied here with this image's node, then the
# devDependencies are pruned: the image gets the patched production packages only.
RUN npm ci --omit=optional --ignore-scripts --no-audit --no-fund \
 && node node_modules/patch-package/index.js --error-on-fail \
 && npm prune --omit=dev --omit=optional --no-audit --no-fund \
 && npm cache clean --force

# --- runtime ------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
# Memory settings: the same as the Makefile's API_NODE_OPTIONS / API_MALLOC_ARENA_MAX /
# API_NODE_COMPILE_CACHE (keep them in step; README "Performance → Memory" has the measurements): without them V8 sizes its heap from the
# host's RAM and one process under load holds ~300 MB for a ~30 MB live set.
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8000 \
    NODE_OPTIONS="--max-semi-space-size=16 --max-old-space-size=128" \
    MALLOC_ARENA_MAX=1 \
    NODE_COMPILE_CACHE=/app/.compile-cache
WORKDIR /app
# Node 24 runs the TypeScript sources as they are (type stripping): no build step, no dist/.
# The contract is read at start (routing, validation); sql/ holds the migrations.
COPY --from=dependencies /app/node_modules ./node_modules
COPY package.json ./
COPY openapi ./openapi
COPY sql ./sql
COPY src ./src
COPY scripts/migrate.ts ./scripts/migrate.ts
# The /docs page's script (made by `make generate` from the pinned @redocly/cli; see scripts/generate.ts).
COPY generated/redoc.standalone.js ./generated/redoc.standalone.js
# Node's compile cache, filled at build time (the Makefile's API_NODE_COMPILE_CACHE, README
# "Memory"): a start that stops at the configuration check has loaded every module, so no instance
# strips TypeScript at start, and the stripper (+18 MB RSS) is never loaded. Same NODE_OPTIONS as at
# run time (they are part of the cache's key). Read-only to the process: a module it cannot find
# there is stripped as before, and nothing is written.
RUN PORT=not-a-port node src/server.ts 2>/dev/null; test -n "$(ls -A /app/.compile-cache)"
# Files stay root-owned and read-only to the process; it writes nothing to disk with DATABASE_URL set.
USER node
EXPOSE 8000
# Liveness only (/health never touches the database): an orchestrator that restarts on this must
# not restart every instance because the database is down. Load balancers route on /ready.
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8000) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# node is PID 1 and handles SIGTERM itself (drain, grace, pool, exit): no npm in between, since
# npm does not pass the signal on. Give it SHUTDOWN_DRAIN_SECONDS + SHUTDOWN_GRACE_SECONDS + a few
# seconds before the SIGKILL (docker --stop-timeout, Kubernetes terminationGracePeriodSeconds).
STOPSIGNAL SIGTERM
CMD ["node", "src/server.ts"]
