# syntax=docker/dockerfile:1
#
# WasmGuard container image.
#
#   docker build -t wasmguard:dev .
#   docker run --rm -p 8080:8080 wasmguard:dev
#
# Three stages, all on the same Node.js major (the Active LTS line):
#   build   - dev dependencies, compiles TypeScript to dist/ and the sample
#             guards to guards/*.wasm
#   deps    - production dependencies only (npm ci --omit=dev)
#   runtime - slim base, non-root, only dist/, guards/*.wasm, node_modules and
#             package.json
#
# The Node major in the FROM lines is the single source of truth for CI:
# .ci/node-lts.sh reads it from here and runs the test suite on that major.

FROM node:26-bookworm-slim AS build
WORKDIR /app
# Lockfile first so the dependency layer is cached across source edits.
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm \
    npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# Guard sources and their build script; prebuilt guards/*.wasm are excluded by
# .dockerignore, so the guards in the image always come from this build.
COPY guards ./guards
RUN npm run build

FROM node:26-bookworm-slim AS deps
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm \
    npm ci --omit=dev --no-audit --no-fund

FROM node:26-bookworm-slim AS runtime
LABEL org.opencontainers.image.title="wasmguard" \
      org.opencontainers.image.description="DIFC policy decision service that runs WebAssembly guards" \
      org.opencontainers.image.licenses="MIT"
# WASMGUARD_GUARDS_DIR stays unset: the service then serves the bundled
# guards in /app/guards (next to dist/), unless a config file names guards.
ENV NODE_ENV=production \
    WASMGUARD_HOST=0.0.0.0 \
    WASMGUARD_PORT=8080
WORKDIR /app
# Everything is owned by root and only readable by the runtime user: the
# process cannot modify its own code or guards (and runs fine with a
# read-only root filesystem).
COPY package.json ./
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/guards/*.wasm ./guards/
# Numeric uid:gid of the image's "node" user, so Kubernetes' runAsNonRoot can
# verify it without a runAsUser override.
USER 1000:1000
EXPOSE 8080
STOPSIGNAL SIGTERM
# No curl in the slim image: node itself probes /healthz on the configured port.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.WASMGUARD_PORT||8080)+'/healthz',{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# The node flags of `npm start`. --v8-pool-size=1: one V8 background thread
# instead of four. On the 2-core machines this image is sized for, four GC
# helpers compete with the event loop and the guard workers (bench: +5-8%
# requests/s on /v1/evaluate, healthy p99 under traps 13 -> 11 ms). On larger
# machines, override the command with a bigger pool.
CMD ["node", "--v8-pool-size=1", "dist/server.js"]
