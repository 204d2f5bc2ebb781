# pockettts speech server. The entry point is node itself (exec form), so `docker stop` / Kubernetes SIGTERM
# reaches pockettts, which drains in-flight requests (--shutdown-timeout, 30 s by default) and exits 0.
# Never start it through `npx` or `npm exec`: npm's wrapper does not pass SIGTERM on.
# See docs/limits-and-deployment.md.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund --ignore-scripts
# Everything .dockerignore lets through: bin, commands, src, contracts, fixtures (the embedded model), scripts.
COPY . .
RUN npx tsc -p tsconfig.json && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
WORKDIR /app
# What bin/run.js's shebang sets (glibc returns freed onnxruntime buffers to the system and puts the weights on huge
# pages; a small V8 young generation).
ENV NODE_ENV=production MALLOC_MMAP_THRESHOLD_=65536 MALLOC_TRIM_THRESHOLD_=0 GLIBC_TUNABLES=glibc.malloc.hugetlb=1 NODE_OPTIONS=--max-semi-space-size=1
COPY --from=build /app /app
USER node
EXPOSE 8000
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "/app/bin/run.js"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
