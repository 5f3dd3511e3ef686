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
#   runtime - distroless Node: no shell, no npm, no corepack, no package
#             manager; non-root; only dist/, guards/*.wasm, node_modules and
#             package.json. The image's entry point is node itself, so
#               docker run --rm IMAGE dist/cli/main.js ...
#             runs another script of dist/ with the same runtime.
#
# The Node major in the FROM lines is the single source of truth for CI:
# .ci/node-lts.sh reads it from here and runs the test suite on that major.
#
# Base images are pinned by digest (the multi-arch index digest, so every
# platform resolves to the same build): a tag moves, a digest does not. To
# move to a newer build of the same line, look the digest up and replace it
# in the FROM lines, e.g.
#   docker buildx imagetools inspect node:26-bookworm-slim
#   docker buildx imagetools inspect gcr.io/distroless/nodejs26-debian13:nonroot
# No native addon is installed (the runtime copies only JavaScript and
# .wasm), so the build stages' Debian need not match the runtime's.

FROM node:26-bookworm-slim@sha256:2d49d876e96237d76de412761cf05dbfe5aee325cc4406a4d41d5824c5bb8beb AS build
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

FROM node:26-bookworm-slim@sha256:2d49d876e96237d76de412761cf05dbfe5aee325cc4406a4d41d5824c5bb8beb AS deps
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm \
    npm ci --omit=dev --no-audit --no-fund

FROM gcr.io/distroless/nodejs26-debian13:nonroot@sha256:2ee7b2c54a3e37dfc248af81c9f6bcdcaa50abe4af44aa47a3388431031b9283 AS runtime
LABEL org.opencontainers.image.title="wasmguard" \
      org.opencontainers.image.description="DIFC policy decision service that runs WebAssembly guards" \
      org.opencontainers.image.licenses="MIT"
# WASMGUARD_GUARDS_DIR stays unset: the service then serves the bundled
# guards in /app/guards (next to dist/), unless a config file names guards.
# MALLOC_ARENA_MAX=2, as `npm start` sets it: glibc gives each thread that
# allocates its own malloc arena (up to 8 per core), and the event loop, the
# guard workers and libuv's threads each keep freed buffers in theirs (bench,
# processes that ran a while: RSS under /v1/evaluate/response load at 64
# connections 339-353 against 384-396 MB, throughput within the noise).
ENV NODE_ENV=production \
    MALLOC_ARENA_MAX=2 \
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
# Numeric uid:gid (the "node" user of the official images), so Kubernetes'
# runAsNonRoot can verify it without a runAsUser override; the chart runs as
# the same ids.
USER 1000:1000
EXPOSE 8080
STOPSIGNAL SIGTERM
# No shell and no curl in the image: node itself probes /healthz on the
# configured port (exec form, by the absolute path of distroless' node).
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["/nodejs/bin/node", "-e", "fetch('http://127.0.0.1:'+(process.env.WASMGUARD_PORT||8080)+'/healthz',{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# The node flags of `npm start`. --v8-pool-size=1: one V8 background thread
# instead of four. On the 2-core machines this image is sized for, four GC
# helpers compete with the event loop and the guard workers (bench: +5-8%
# requests/s on /v1/evaluate, healthy p99 under traps 13 -> 11 ms). On larger
# machines, override the command with a bigger pool. --heap-growing-percent=100:
# the old generation may grow to twice what survived the last full collection,
# where V8 on a large machine lets it reach up to 4 times (RSS under response
# load); at 1.5 times, on Node 26, whose new space is 64 MB, the slack stayed
# below the new space and V8 marked the heap without pause (README,
# Performance: 1.5 -> 2 took CPU per 100-item response check 1,705 -> 1,344 us).
# --max-semi-space-size=8: the event loop's young generation grows to 8 MB
# semi-spaces, not the 32 MB Node 26 lets it reach; its garbage dies young
# either way (request bodies wait as bytes outside the heap), so the bigger
# one only held memory: RSS under response load 293 -> 251 MB at 64
# connections, 267 -> 217 MB at 16, requests/s the same within noise.
# ENTRYPOINT is distroless' own, written out so the command is read in one place.
ENTRYPOINT ["/nodejs/bin/node"]
CMD ["--v8-pool-size=1", "--heap-growing-percent=100", "--max-semi-space-size=8", "dist/server.js"]
