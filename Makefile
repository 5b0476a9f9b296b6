# The one command surface. Every target runs on the Node 24 that package.json pins (the `node`
# package puts it first on PATH via node_modules/.bin), whatever Node the machine has.
SHELL := /bin/bash
export PATH := $(CURDIR)/node_modules/.bin:$(PATH)

.DEFAULT_GOAL := help
.PHONY: help install run test test-pgbouncer pgbouncer chromium check typecheck lint generate generated-check lint-ts integration migrate token clean bench bench-startup spectral client docs

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

# Reinstall only when the lockfile or a patch in patches/ changed since the last install, or when
# the pinned Node is missing (an earlier install omitted devDependencies). --include=dev: this
# Makefile is how a clone runs, tests and serves, and it runs everything on the Node 24 that the
# `node` devDependency installs — also under NODE_ENV=production, which would otherwise make npm
# omit it and leave the machine's own Node (20 on these machines) to fail on the .ts sources.
# Production images install with --omit=dev instead (Dockerfile): they bring their own Node 24.
ifeq ($(wildcard node_modules/.bin/node),)
.PHONY: node_modules/.install-stamp
endif
node_modules/.install-stamp: package.json package-lock.json $(wildcard patches/*.patch)
	npm ci --include=dev --no-audit --no-fund
	@touch $@

install: node_modules/.install-stamp ## Install dependencies (npm ci, devDependencies included) when they are missing or stale
	@node src/check-node.js

# .env is read when present (Node's own --env-file; no dotenv dependency).
ENV_FILE := $(if $(wildcard .env),--env-file=.env)

# Memory of every API process: the one place for these settings. `make run` uses them, `make bench`
# starts its API with them, and the Dockerfile must set the same (ENV NODE_OPTIONS, MALLOC_ARENA_MAX).
# Node sizes V8's heap from the machine's RAM (24 GB here: 64 MB semi-spaces, old space let grow to
# 4x the live set), so an API with ~30 MB of live objects sat at 300-340 MB. 16 MB semi-spaces keep
# request garbage dying young at 100 connections (8 MB promotes it: +18% CPU); an old space of at
# most 128 MB (4x the live set) makes V8 grow it by 1.3x, not 4x. Measured: README "Memory".
# MALLOC_ARENA_MAX=1: glibc's extra per-thread arenas (V8's GC and compiler threads) held 7-19 MB
# more; one arena measured no slower here.
# A NODE_OPTIONS or MALLOC_ARENA_MAX of your own still wins.
API_NODE_OPTIONS := --max-semi-space-size=16 --max-old-space-size=128
API_MALLOC_ARENA_MAX := 1
# Node's compile cache: each module's type-stripped source and V8 bytecode, kept between starts.
# Without it every start strips the TypeScript with Node's built-in stripper (swc compiled to
# WebAssembly), which then stays resident for the life of the process: +18 MB RSS (README "Memory").
API_NODE_COMPILE_CACHE := $(CURDIR)/node_modules/.cache/tasks-api-compile-cache

run: install ## Serve the API on http://localhost:8000 (embedded PostgreSQL unless DATABASE_URL is set)
	NODE_OPTIONS="$(API_NODE_OPTIONS) $$NODE_OPTIONS" MALLOC_ARENA_MAX="$${MALLOC_ARENA_MAX:-$(API_MALLOC_ARENA_MAX)}" NODE_COMPILE_CACHE="$${NODE_COMPILE_CACHE:-$(API_NODE_COMPILE_CACHE)}" node $(ENV_FILE) src/server.ts

test: install chromium pgbouncer check integration test-pgbouncer ## Every check and every test (what CI runs)

# The docs-portal test (test/docs/) opens /docs in headless Chrome or Chromium; playwright-core
# never downloads a browser. scripts/find-tool.sh: CHROMIUM_PATH, then PATH and the usual Linux and
# macOS places, then Debian's package where apt exists (sudo when not root), else one line saying
# what to install. The same for PgBouncer (PGBOUNCER_PATH).
chromium: ## Find Chrome/Chromium for the docs-portal test (installs Debian's where apt exists)
	@scripts/find-tool.sh chromium --install >/dev/null

pgbouncer: ## Find PgBouncer for the pooler tests (installs Debian's where apt exists)
	@scripts/find-tool.sh pgbouncer --install >/dev/null

# The suite again with every database URL going through a real PgBouncer in transaction mode with
# its default ignore_startup_parameters (what Neon's pooled connection string is). Left out: tests
# that never use the test database (the docs page in a browser, config parsing, the client package
# build, and the process tests that run their own embedded PostgreSQL: lifecycle, shutdown,
# outage), and test/deployment, whose pooler tests start their own PgBouncer in every run.
PGBOUNCER_SKIPS := test/docs/** test/config.test.ts test/client/package.test.ts test/process/server.test.ts \
  test/process/shutdown.test.ts test/process/database-outage.test.ts test/process/cluster-signals.test.ts test/deployment/**
test-pgbouncer: install pgbouncer ## Run the suite through PgBouncer (transaction mode) in front of the test PostgreSQL
	TEST_THROUGH_PGBOUNCER=1 mocha $(foreach skip,$(PGBOUNCER_SKIPS),--ignore '$(skip)') 'test/**/*.test.ts'

check: lint spectral generated-check typecheck lint-ts ## Contract lint (Redocly, Spectral OWASP), generated-files drift check, tsc, ESLint

# typescript-eslint with type information (eslint.config.js says which rules and why). --cache: only
# files changed since the last run are linted again.
lint-ts: install ## Lint the TypeScript (typescript-eslint, type-aware: floating promises, misused promises, …)
	eslint --cache --cache-location node_modules/.cache/eslint/ .

lint: install ## Lint the contract with Redocly
	redocly lint --format=stylish

spectral: install ## Lint the contract with Spectral's OWASP API security ruleset (.spectral.yaml; warnings fail)
	spectral lint --ruleset .spectral.yaml --fail-severity=warn --quiet openapi/tasks-api.yaml

client: install ## Build the typed client package into dist/client (then `cd dist/client && npm pack`)
	node scripts/build-client.ts

docs: install ## Build the static docs portal (Redocly build-docs, self-contained) into dist/docs/
	redocly build-docs openapi/tasks-api.yaml --inlineBundle --output dist/docs/index.html

generate: install ## Regenerate generated/ from the contract
	node scripts/generate.ts

generated-check: install ## Fail when generated/ does not match the contract
	node scripts/generate.ts --check

typecheck: install ## Type-check src, tests, scripts (including the type-level tests)
	tsc -p tsconfig.json

integration: install ## Run the whole integration suite through HTTP on a real PostgreSQL (embedded, or TEST_DATABASE_URL); SPEC=test/auth for a part
	mocha $(or $(SPEC),'test/**/*.test.ts')

migrate: install ## Apply pending migrations to DATABASE_URL (or the embedded database)
	node $(ENV_FILE) scripts/migrate.ts

# USER must come from the command line: the shell's own $$USER (the login name) is not a choice.
token: install ## Print a development token: make token USER=alice [TTL=1h]
	@node $(ENV_FILE) scripts/token.ts "$(if $(filter command line,$(origin USER)),$(USER))" "$(or $(TTL),1h)"

clean: ## Remove node_modules and local data (.data/: the embedded database and dev secret)
	rm -rf node_modules .data

# Not part of `make test`: load, on loopback, for BENCH_SECONDS (see README "Performance").
# BENCH_API_DIR=/path/to/another/checkout benchmarks that checkout's API with this harness.
bench: install ## Load benchmark: the API under the mixed workload, the raw-SQL ceiling, the generator's ceiling
	API_NODE_OPTIONS="$(API_NODE_OPTIONS)" API_MALLOC_ARENA_MAX="$(API_MALLOC_ARENA_MAX)" API_NODE_COMPILE_CACHE="$(API_NODE_COMPILE_CACHE)" node bench/bench.ts

bench-startup: install ## Time from starting the server on an existing data directory to ready
	node bench/startup.ts

.PHONY: bench-queries
bench-queries: install ## Benchmark listTasks (recurring-heavy) and the completion history on 1,000,000 tasks (fresh embedded PostgreSQL; not part of make test)
	node bench/list-queries.ts
