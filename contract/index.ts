// The whole REST contract, one object: the server declares its handlers from it, the OpenAPI document
// is generated from it, and every client calls its routes (`client.call(api.runs.get, {params: {id}})`).
import { agentProtocolRoutes } from './agent-protocol.contract';
import { agentRoutes } from './agents.contract';
import { artifactRoutes } from './artifacts.contract';
import { hookRoutes } from './hooks.contract';
import { jobRoutes } from './jobs.contract';
import { pipelineRoutes } from './pipelines.contract';
import { projectRoutes } from './projects.contract';
import { queueRoutes } from './queue.contract';
import { repositoryRoutes } from './repositories.contract';
import { runRoutes } from './runs.contract';
import { scheduleRoutes } from './schedules.contract';
import { secretRoutes } from './secrets.contract';
import { systemRoutes } from './system.contract';
import { tokenRoutes } from './tokens.contract';

export const api = {
  projects: projectRoutes,
  pipelines: pipelineRoutes,
  repositories: repositoryRoutes,
  runs: runRoutes,
  schedules: scheduleRoutes,
  jobs: jobRoutes,
  queue: queueRoutes,
  artifacts: artifactRoutes,
  agents: agentRoutes,
  agentProtocol: agentProtocolRoutes,
  hooks: hookRoutes,
  secrets: secretRoutes,
  tokens: tokenRoutes,
  system: systemRoutes,
} as const;

export type Api = typeof api;
