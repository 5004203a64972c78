import { pipeline } from 'node:stream/promises';
import { Body, Controller, Get, HttpCode, Param, Post, Put, Query, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { AgentOnly, CurrentAgent, CurrentRegistration, RegistrationOnly } from '../auth/auth.decorators';
import type { AgentPrincipal, RegistrationPrincipal } from '../auth/principal';
import { badRequest } from '../common/api-error';
import { ArtifactsService } from '../artifacts/artifacts.service';
import { ActiveNodesDto, FinishJobDto, HeartbeatDto, LogBatchDto, RegisterAgentDto } from './agents.dto';
import { AGENT_API_PREFIX, AGENT_ROUTES } from './agent-protocol';
import { AgentsService } from './agents.service';
import { idParam } from '../common/validation';

const jobId = idParam('job');

@ApiTags('agent protocol')
@ApiBearerAuth()
@Controller(AGENT_API_PREFIX)
export class AgentProtocolController {
  constructor(
    private readonly agents: AgentsService,
    private readonly artifacts: ArtifactsService,
  ) {}

  @Post(AGENT_ROUTES.register.path)
  @RegistrationOnly()
  register(@CurrentRegistration() registration: RegistrationPrincipal, @Body() body: RegisterAgentDto) {
    return this.agents.register(registration, body);
  }

  @Post(AGENT_ROUTES.heartbeat.path)
  @AgentOnly()
  @HttpCode(200)
  heartbeat(@CurrentAgent() agent: AgentPrincipal, @Body() body: HeartbeatDto) {
    return this.agents.heartbeat(agent, body.jobId ?? null);
  }

  @Post(AGENT_ROUTES.signOff.path)
  @AgentOnly()
  @HttpCode(204)
  signOff(@CurrentAgent() agent: AgentPrincipal) {
    return this.agents.signOff(agent);
  }

  @Post(AGENT_ROUTES.claim.path)
  @AgentOnly()
  async claim(@CurrentAgent() agent: AgentPrincipal, @Query('wait') wait: string | undefined, @Req() req: Request, @Res() res: Response) {
    const waitSeconds = wait === undefined ? 30 : Number(wait);
    if (!Number.isFinite(waitSeconds) || waitSeconds < 0 || waitSeconds > 60) throw badRequest('wait must be a number of seconds from 0 to 60.');
    let abandoned = false;
    req.on('close', () => (abandoned = !res.writableFinished));
    const claimed = await this.agents.claim(agent, waitSeconds, () => abandoned);
    if (claimed) res.status(200).json(claimed);
    else res.status(204).end();
  }

  @Post(AGENT_ROUTES.start.path)
  @AgentOnly()
  @HttpCode(200)
  async start(@CurrentAgent() agent: AgentPrincipal, @Param('id', jobId) id: number) {
    await this.agents.start(agent, id);
    return { ok: true };
  }

  @Post(AGENT_ROUTES.logs.path)
  @AgentOnly()
  @HttpCode(200)
  logs(@CurrentAgent() agent: AgentPrincipal, @Param('id', jobId) id: number, @Body() body: LogBatchDto) {
    return this.agents.appendLogs(agent, id, body);
  }

  @Post(AGENT_ROUTES.nodes.path)
  @AgentOnly()
  @HttpCode(200)
  nodes(@CurrentAgent() agent: AgentPrincipal, @Param('id', jobId) id: number, @Body() body: ActiveNodesDto) {
    return this.agents.reportNodes(agent, id, body);
  }

  @Put(AGENT_ROUTES.uploadArtifact.path)
  @AgentOnly()
  upload(@CurrentAgent() agent: AgentPrincipal, @Param('id', jobId) id: number, @Param('name') name: string, @Req() req: Request) {
    const length = req.headers['content-length'] === undefined ? null : Number(req.headers['content-length']);
    const checksum = req.headers['x-checksum-sha256'];
    return this.artifacts.upload(agent, id, name, req, typeof checksum === 'string' ? checksum : undefined, length);
  }

  @Get(AGENT_ROUTES.downloadArtifact.path)
  @AgentOnly()
  async download(@CurrentAgent() agent: AgentPrincipal, @Param('id', jobId) id: number, @Param('name') name: string, @Query('run') run: string | undefined, @Res() res: Response) {
    const row = await this.artifacts.findForAgent(agent, id, name, run);
    res.setHeader('Content-Type', 'application/octet-stream');
    res.setHeader('Content-Length', String(row.size));
    res.setHeader('X-Checksum-Sha256', row.sha256);
    await pipeline(await this.artifacts.open(row), res);
  }

  @Post(AGENT_ROUTES.release.path)
  @AgentOnly()
  @HttpCode(200)
  async release(@CurrentAgent() agent: AgentPrincipal, @Param('id', jobId) id: number) {
    await this.agents.release(agent, id);
    return { ok: true };
  }

  @Post(AGENT_ROUTES.finish.path)
  @AgentOnly()
  @HttpCode(200)
  finish(@CurrentAgent() agent: AgentPrincipal, @Param('id', jobId) id: number, @Body() body: FinishJobDto) {
    return this.agents.finish(agent, id, { status: body.status, exitCode: body.exitCode ?? null });
  }
}
