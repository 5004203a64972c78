// Transitional: the agent protocol is defined in contract/agent-protocol.contract.ts. This file re-exports
// what agent/ (and bench/) still import from here, and keeps agentPath until they build their paths with
// routeUrl from contract/http.ts; then it goes.
import { agentProtocolRoutes } from '../../contract/agent-protocol.contract';
import { routeUrl } from '../../contract/http';

export {
  AGENT_NAME_PATTERN,
  AGENT_NAME_RULE,
  AGENT_STREAM_NAMESPACE,
  LABEL_PATTERN,
  LABEL_RULE,
  MAX_AGENT_LABELS,
} from '../../contract/agent-protocol.contract';
export type {
  ActiveNodesRequest,
  AgentStreamClientEvents,
  ArtifactUploadResponse,
  CheckoutAuth,
  CheckoutSpec,
  ClaimedJob,
  FinishRequest,
  HeartbeatResponse,
  LogBatchRequest,
  LogBatchResponse,
  LogChunkInput,
  LogStream,
  NodeState,
  PipelineKind,
  RegisterRequest,
  RegisterResponse,
  StreamedLogBatch,
  StreamReply,
} from '../../contract/agent-protocol.contract';

const API_ROOT = '/api/v1';

/** @deprecated the contract's routes carry their full paths. */
export const AGENT_API_PREFIX = 'api/v1/agents';

/** @deprecated the contract's routes (`api.agentProtocol`) with routeUrl. */
export const AGENT_ROUTES = agentProtocolRoutes;
export type AgentRoute = keyof typeof AGENT_ROUTES;

/**
 * @deprecated `routeUrl(api.agentProtocol.<route>, params, query)`. A route's path under the API base
 * (`/agents/jobs/7/finish`), its `:id` and `:name` filled in (the name encoded) and `query` appended;
 * `prefix` replaces `/agents`.
 */
export function agentPath(
  route: AgentRoute,
  params: { id?: number; name?: string } = {},
  query: Record<string, string | number | undefined> = {},
  prefix = '/agents',
): string {
  const defined = Object.fromEntries(Object.entries(params).filter((entry): entry is [string, string | number] => entry[1] !== undefined));
  const url = routeUrl(AGENT_ROUTES[route], defined, query);
  return `${prefix}${url.slice(`${API_ROOT}/agents`.length)}`;
}
