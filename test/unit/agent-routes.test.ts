import { describe, expect, it } from 'vitest';
import { api } from '../../contract';
import { routeUrl } from '../../contract/http';

// The agent builds its paths from the contract's routes (which test/unit/contract-routes.test.ts proves
// the server serves); these are the path-building cases: ids and names filled in and encoded, queries.
describe('agent API paths', () => {
  const routes = api.agentProtocol;

  it.each<[string, string, string]>([
    ['claim', routeUrl(routes.claim, {}, { wait: 30 }), '/api/v1/agents/claim?wait=30'],
    ['finish', routeUrl(routes.finish, { id: 7 }), '/api/v1/agents/jobs/7/finish'],
    ['uploadArtifact', routeUrl(routes.uploadArtifact, { id: 7, name: 'dist/app v1.tgz' }), '/api/v1/agents/jobs/7/artifacts/dist%2Fapp%20v1.tgz'],
    ['downloadArtifact', routeUrl(routes.downloadArtifact, { id: 7, name: 'a.txt' }, { run: undefined }), '/api/v1/agents/jobs/7/artifacts/a.txt'],
    ['downloadArtifact', routeUrl(routes.downloadArtifact, { id: 7, name: 'a.txt' }, { run: '12' }), '/api/v1/agents/jobs/7/artifacts/a.txt?run=12'],
  ])('%s builds its path', (_route, built, expected) => {
    expect(built).toBe(expected);
  });

  it('refuses a route whose parameter is missing', () => {
    expect(() => routeUrl(routes.finish)).toThrow('POST /api/v1/agents/jobs/:id/finish needs the path parameter "id".');
  });
});
