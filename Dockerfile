# syntax=docker/dockerfile:1
# The Sluice image: `sluice controller` by default; the load tester is the same image with
# `loadtester` as its argument. Build from the repository root:
#   docker build -t ghcr.io/sluice-dev/sluice:0.1.0 .
# Pin the base by digest in CI, e.g. --build-arg NODE_IMAGE=node:24-slim@sha256:…
ARG NODE_IMAGE=node:24-slim

# Build: all dependencies, TypeScript compiled to dist/, then only production dependencies kept.
FROM ${NODE_IMAGE} AS build
WORKDIR /app
ENV npm_config_update_notifier=false \
    npm_config_fund=false \
    npm_config_audit=false
COPY package.json package-lock.json ./
# No install scripts: the only one is the `node` devDependency's, which would download a
# second Node 24 (the base image has one). Its dangling .bin/node link goes too.
RUN npm ci --ignore-scripts && rm -f node_modules/.bin/node
COPY tsconfig.json tsconfig.build.json ./
# The dashboard's front end: `npm run build` bundles it into dist/web (no CDN at run time).
COPY web ./web
COPY src ./src
# The local stack (dist/dev: control plane harness, runtime, traffic layer, demo) is
# development tooling the CLI loads only for `sluice dev` and `sluice demo`: not shipped.
RUN npm run build && rm -rf dist/dev && npm prune --omit=dev --ignore-scripts
# Type declarations, TypeScript sources, source maps and docs are never loaded at run time:
# dropping them halves node_modules (about 160 MB to 80 MB).
RUN find node_modules dist -type f \( -name '*.ts' -o -name '*.mts' -o -name '*.cts' \
      -o -name '*.map' -o -name '*.md' \) -delete

# Runtime: Node 24 without npm, only what runs, as an unprivileged user.
FROM ${NODE_IMAGE} AS runtime
# npm, npx and corepack are never used at run time: less to ship and to patch.
RUN rm -rf /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/corepack \
      /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack
WORKDIR /app
ENV NODE_ENV=production
# package.json carries "type": "module", which the compiled ESM in dist/ needs.
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY bin ./bin
COPY crds ./crds
# `sluice` on PATH, for manifests that set `command: [sluice]` (deploy/loadtester).
RUN ln -s /app/bin/sluice.js /usr/local/bin/sluice
# The distroless "nonroot" uid: no home, no shell login, owns nothing in the image.
USER 65532:65532
EXPOSE 8080
LABEL org.opencontainers.image.title="sluice" \
      org.opencontainers.image.description="Progressive delivery controller for Kubernetes" \
      org.opencontainers.image.source="https://github.com/sluice-dev/sluice" \
      org.opencontainers.image.licenses="Apache-2.0"
# V8 sizes the young generation by the machine's memory (128 MB resident on a large node);
# 16 MB semi-spaces cost no measurable CPU and keep the controller's RSS down (docs/performance.md).
ENTRYPOINT ["node", "--max-semi-space-size=16", "/app/bin/sluice.js"]
CMD ["controller"]
