#!/usr/bin/env bash
# The Dockerfile's build steps without a Docker engine, on a clean copy of the build context.
#   usage: scripts/image-build.sh [OUT_DIR]      (prints the runtime directory on stdout)
# OUT_DIR/build is the `build` stage's /src and OUT_DIR/runtime the runtime stage's /app. Each
# stage sees only the files the Dockerfile COPYs, never this checkout's node_modules or dist/.
# test/deploy/image.test.ts checks that every RUN and COPY of the Dockerfile appears here.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="${1:-$(mktemp -d "${TMPDIR:-/tmp}/netflow-k8s-image.XXXXXX")}"
BUILD="$OUT/build"
RUNTIME="$OUT/runtime"
rm -rf "$BUILD" "$RUNTIME"
mkdir -p "$BUILD" "$RUNTIME"
log() { printf 'image-build: %s\n' "$*" >&2; }

# --- FROM node:24 AS build; WORKDIR /src
cd "$BUILD"
log "build stage in $BUILD"
# ENV npm_config_nodedir=/usr/local is the image's header location; here npm's own configuration
# (or the caller's npm_config_nodedir) says where this machine's Node headers are.
# COPY package.json package-lock.json ./
cp "$ROOT/package.json" "$ROOT/package-lock.json" ./
npm ci --no-audit --no-fund --ignore-scripts >&2
# COPY tsconfig.json tsconfig.build.json ./
cp "$ROOT/tsconfig.json" "$ROOT/tsconfig.build.json" ./
# COPY native ./native (.dockerignore leaves out native/build)
cp -R "$ROOT/native" ./native
rm -rf ./native/build
# COPY src ./src
cp -R "$ROOT/src" ./src
npm run build >&2

# --- FROM node:24 AS runtime; WORKDIR /app
cd "$RUNTIME"
log "runtime stage in $RUNTIME"
# COPY package.json package-lock.json ./
cp "$ROOT/package.json" "$ROOT/package-lock.json" ./
npm ci --omit=dev --no-audit --no-fund --ignore-scripts >&2
find node_modules -type f \( -name '*.map' -o -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' -o -name '*.md' \) -delete
# COPY --from=build /src/dist ./dist
cp -R "$BUILD/dist" ./dist
# COPY --from=build /src/native/build/Release/udp_recv.node ./native/build/Release/udp_recv.node
mkdir -p ./native/build/Release
cp "$BUILD/native/build/Release/udp_recv.node" ./native/build/Release/udp_recv.node
# COPY bin ./bin
cp -R "$ROOT/bin" ./bin
# Not performed here (image paths, not build steps): the caller passes its own state directory
# with NETFLOW_K8S_TEMPLATES_FILE or --templates-file instead of the image's volume:
# RUN mkdir -p /var/lib/netflow-k8s && chown 1000:1000 /var/lib/netflow-k8s

echo "$RUNTIME"
