import 'reflect-metadata';
import { PATH_METADATA, METHOD_METADATA } from '@nestjs/common/constants';
import { RequestMethod } from '@nestjs/common';
import { describe, expect, it } from 'vitest';
import { AGENT_API_PREFIX, AGENT_ROUTES, agentPath, type AgentRoute } from '../../src/agents/agent-protocol';
import { AgentProtocolController } from '../../src/agents/agent-protocol.controller';

// The agent builds its paths from AGENT_ROUTES; this proves the server serves exactly that table.
describe('agent API routes', () => {
  it('are the controller’s handlers, one for each route, with the same method and path', () => {
    expect(Reflect.getMetadata(PATH_METADATA, AgentProtocolController)).toBe(AGENT_API_PREFIX);
    const prototype = AgentProtocolController.prototype as unknown as Record<string, unknown>;
    const served = Object.getOwnPropertyNames(prototype)
      .filter((name) => name !== 'constructor' && Reflect.getMetadata(PATH_METADATA, prototype[name] as object) !== undefined)
      .map((name) => {
        const handler = prototype[name] as object;
        return `${RequestMethod[Reflect.getMetadata(METHOD_METADATA, handler) as number]} ${Reflect.getMetadata(PATH_METADATA, handler) as string}`;
      })
      .sort();
    const declared = Object.values(AGENT_ROUTES).map((route) => `${route.method} ${route.path}`).sort();
    expect(served).toEqual(declared);
  });

  it.each<[AgentRoute, Parameters<typeof agentPath>[1], Parameters<typeof agentPath>[2], string]>([
    ['claim', {}, { wait: 30 }, '/agents/claim?wait=30'],
    ['finish', { id: 7 }, {}, '/agents/jobs/7/finish'],
    ['uploadArtifact', { id: 7, name: 'dist/app v1.tgz' }, {}, '/agents/jobs/7/artifacts/dist%2Fapp%20v1.tgz'],
    ['downloadArtifact', { id: 7, name: 'a.txt' }, { run: undefined }, '/agents/jobs/7/artifacts/a.txt'],
    ['downloadArtifact', { id: 7, name: 'a.txt' }, { run: '12' }, '/agents/jobs/7/artifacts/a.txt?run=12'],
  ])('%s builds its path', (route, params, query, expected) => {
    expect(agentPath(route, params, query)).toBe(expected);
  });

  it('refuses a route whose parameter is missing', () => {
    expect(() => agentPath('finish')).toThrow('agent route finish needs :id');
  });
});
