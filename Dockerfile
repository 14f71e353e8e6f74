# pgpool-ts container: built from this repository, runs as a non-root user.
FROM node:24-slim AS build
WORKDIR /src
COPY package.json package-lock.json tsconfig.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY src ./src
RUN npx tsc -p tsconfig.json

FROM node:24-slim
ENV NODE_ENV=production
WORKDIR /opt/pgpool-ts
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /src/dist ./dist
COPY bin ./bin
COPY conf ./conf
RUN mkdir -p /etc/pgpool-ts /run/pgpool-ts && chown node:node /run/pgpool-ts
USER node
EXPOSE 9999 9719
HEALTHCHECK --interval=10s --timeout=3s --retries=3 \
  CMD ["node", "-e", "require('net').connect(9999, '127.0.0.1').on('connect', () => process.exit(0)).on('error', () => process.exit(1))"]
ENTRYPOINT ["node", "--max-semi-space-size=1", "/opt/pgpool-ts/bin/pgpool-ts.js"]
CMD ["-n", "-f", "/etc/pgpool-ts/pgpool.conf"]
