# syntax=docker/dockerfile:1
# netflow-k8s collector image. Two stages: `build` compiles src/ with the dev dependencies; the
# runtime stage holds production dependencies only, compiled JavaScript, and runs as a non-root
# user on a read-only root file system (the templates file lives on a mounted volume).
# scripts/image-build.sh performs the same steps without a Docker engine; test/deploy/image.test.ts
# checks that the two stay in step, so change them together.
ARG NODE_IMAGE=node:24-bookworm-slim
# The build stage compiles the native UDP receiver (native/), so it needs g++, make and python3:
# the full image has them; the runtime stage stays slim and gets only the built .node file.
ARG BUILD_IMAGE=node:24-bookworm

FROM ${BUILD_IMAGE} AS build
WORKDIR /src
# node-gyp builds against this image's own Node headers instead of downloading them.
ENV npm_config_nodedir=/usr/local
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` would build before src/ is copied; the build runs below.
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY native ./native
COPY src ./src
RUN npm run build

FROM ${NODE_IMAGE} AS runtime
# Re-declared so the label below can name the base image (an ARG before FROM is not in scope here).
ARG NODE_IMAGE
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="netflow-k8s" \
      org.opencontainers.image.description="NetFlow v5/v9/IPFIX collector that names both ends of every flow by Kubernetes identity; Prometheus, OTLP and a service map" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.base.name="${NODE_IMAGE}"
ENV NODE_ENV=production \
    NETFLOW_K8S_TEMPLATES_FILE=/var/lib/netflow-k8s/templates.json
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` needs the dev dependencies; dist/ comes from the build stage.
# Type declarations, source maps and docs of the dependencies are half their size and unused at run time.
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --no-audit --no-fund --ignore-scripts \
 && find node_modules -type f \( -name '*.map' -o -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' -o -name '*.md' \) -delete
COPY --from=build /src/dist ./dist
# Node-API, so it loads in the runtime's Node whichever Node 24 release built it.
COPY --from=build /src/native/build/Release/udp_recv.node ./native/build/Release/udp_recv.node
COPY bin ./bin
# The only writable path the collector needs; mount an emptyDir here when the root FS is read-only.
RUN mkdir -p /var/lib/netflow-k8s && chown 1000:1000 /var/lib/netflow-k8s
VOLUME ["/var/lib/netflow-k8s"]
# The base image's `node` user, by number so that Kubernetes can verify runAsNonRoot.
USER 1000:1000
EXPOSE 2055/udp 8080/tcp
# Semi-spaces of 2 MiB for every isolate (main and receiving threads): V8's default let the main
# thread's young generation grow to 128 MiB under scrapes (docs/operations.md, Sizing).
ENTRYPOINT ["node", "--max-semi-space-size=2", "/app/bin/netflow-k8s.js"]
CMD ["run"]
