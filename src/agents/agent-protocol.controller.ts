import { pipeline } from 'node:stream/promises';
import { Body, Controller, Param, Query, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { api } from '../../contract';
import type { RouteBody, RouteParams, RouteQuery, RouteResult } from '../../contract/http';
import { CurrentAgent, CurrentRegistration } from '../auth/auth.decorators';
import type { AgentPrincipal, RegistrationPrincipal } from '../auth/principal';
import { bodyOf, paramsOf, queryOf, Route } from '../common/contract-route';
import { ArtifactsService } from '../artifacts/artifacts.service';
import { AgentsService } from './agents.service';

const routes = api.agentProtocol;

@Controller()
export class AgentProtocolController {
  constructor(
    private readonly agents: AgentsService,
    private readonly artifacts: ArtifactsService,
  ) {}

  @Route(routes.register)
  register(@CurrentRegistration() registration: RegistrationPrincipal, @Body(bodyOf(routes.register)) body: RouteBody<typeof routes.register>): Promise<RouteResult<typeof routes.register>> {
    return this.agents.register(registration, body);
  }

  @Route(routes.heartbeat)
  heartbeat(@CurrentAgent() agent: AgentPrincipal, @Body(bodyOf(routes.heartbeat)) body: RouteBody<typeof routes.heartbeat>): Promise<RouteResult<typeof routes.heartbeat>> {
    return this.agents.heartbeat(agent, body.jobId ?? null);
  }

  @Route(routes.signOff)
  signOff(@CurrentAgent() agent: AgentPrincipal): Promise<void> {
    return this.agents.signOff(agent);
  }

  /** 200 with the job, or 204 when none came within the wait: the status depends on the outcome. */
  @Route(routes.claim)
  async claim(@CurrentAgent() agent: AgentPrincipal, @Query(queryOf(routes.claim)) query: RouteQuery<typeof routes.claim>, @Req() req: Request, @Res() res: Response) {
    // A client gone mid-poll stops waiting at once: its wakeup would otherwise be spent on nobody.
    // The response's close, not the request's: since Node 16 a request emits 'close' once its body is
    // read, usually before this handler runs, so it never told of a client that left.
    const abandoned = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) abandoned.abort();
    });
    if (req.socket.destroyed) abandoned.abort();
    const claimed = await this.agents.claim(agent, query.wait, abandoned.signal);
    if (claimed) res.status(200).json(claimed);
    else res.status(204).end();
  }

  @Route(routes.start)
  async start(@CurrentAgent() agent: AgentPrincipal, @Param(paramsOf(routes.start)) params: RouteParams<typeof routes.start>): Promise<RouteResult<typeof routes.start>> {
    await this.agents.start(agent, params.id);
    return { ok: true };
  }

  @Route(routes.logs)
  logs(
    @CurrentAgent() agent: AgentPrincipal,
    @Param(paramsOf(routes.logs)) params: RouteParams<typeof routes.logs>,
    @Body(bodyOf(routes.logs)) body: RouteBody<typeof routes.logs>,
  ): Promise<RouteResult<typeof routes.logs>> {
    return this.agents.appendLogs(agent, params.id, body);
  }

  @Route(routes.nodes)
  nodes(
    @CurrentAgent() agent: AgentPrincipal,
    @Param(paramsOf(routes.nodes)) params: RouteParams<typeof routes.nodes>,
    @Body(bodyOf(routes.nodes)) body: RouteBody<typeof routes.nodes>,
  ): Promise<RouteResult<typeof routes.nodes>> {
    return this.agents.reportNodes(agent, params.id, body);
  }

  @Route(routes.uploadArtifact)
  upload(@CurrentAgent() agent: AgentPrincipal, @Param(paramsOf(routes.uploadArtifact)) params: RouteParams<typeof routes.uploadArtifact>, @Req() req: Request): Promise<RouteResult<typeof routes.uploadArtifact>> {
    const length = req.headers['content-length'] === undefined ? null : Number(req.headers['content-length']);
    const checksum = req.headers['x-checksum-sha256'];
    return this.artifacts.upload(agent, params.id, params.name, req, typeof checksum === 'string' ? checksum : undefined, length);
  }

  @Route(routes.downloadArtifact)
  async download(
    @CurrentAgent() agent: AgentPrincipal,
    @Param(paramsOf(routes.downloadArtifact)) params: RouteParams<typeof routes.downloadArtifact>,
    @Query(queryOf(routes.downloadArtifact)) query: RouteQuery<typeof routes.downloadArtifact>,
    @Res() res: Response,
  ) {
    const row = await this.artifacts.findForAgent(agent, params.id, params.name, query.run);
    res.setHeader('Content-Type', 'application/octet-stream');
    res.setHeader('Content-Length', String(row.size));
    res.setHeader('X-Checksum-Sha256', row.sha256);
    await pipeline(await this.artifacts.open(row), res);
  }

  @Route(routes.release)
  async release(@CurrentAgent() agent: AgentPrincipal, @Param(paramsOf(routes.release)) params: RouteParams<typeof routes.release>): Promise<RouteResult<typeof routes.release>> {
    await this.agents.release(agent, params.id);
    return { ok: true };
  }

  @Route(routes.finish)
  finish(
    @CurrentAgent() agent: AgentPrincipal,
    @Param(paramsOf(routes.finish)) params: RouteParams<typeof routes.finish>,
    @Body(bodyOf(routes.finish)) body: RouteBody<typeof routes.finish>,
  ): Promise<RouteResult<typeof routes.finish>> {
    return this.agents.finish(agent, params.id, { status: body.status, exitCode: body.exitCode ?? null, outputs: body.outputs });
  }
}
