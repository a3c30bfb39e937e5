# Steward's image: the steward CLI and its compiled code, for the worker, the compute nodes and the
# API (docker-compose.yml). Node 20 as package.json's engines say.
FROM node:20.19.2-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY stubs ./stubs
COPY bin ./bin
COPY src ./src
# npm ci runs `prepare`, which compiles src/ into dist/
RUN npm ci --no-audit --no-fund && npm prune --omit=dev

FROM node:20.19.2-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin ./bin
RUN mkdir -p /data/steward /data/workspace && chown -R node:node /data
USER node
ENTRYPOINT ["node", "/app/bin/steward.js"]
CMD ["--help"]
