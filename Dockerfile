# One image for the API, the worker and the agent; the command picks the role.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY . .
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /app
# git (and ssh for ssh:// repositories): the server reads repositories and agents check them out with it.
RUN apt-get update && apt-get install -y --no-install-recommends bash ca-certificates git openssh-client python3 && rm -rf /var/lib/apt/lists/*
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/migrations ./migrations
COPY package.json ./
ENV NODE_ENV=production BELLOWS_LOG_FORMAT=json
EXPOSE 3000
CMD ["node", "dist/src/main.js"]
