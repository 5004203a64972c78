import { pipeline } from 'node:stream/promises';
import { Body, Controller, Get, HttpCode, Param, ParseIntPipe, Post, Put, Query, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { AgentOnly, CurrentAgent, CurrentRegistration, RegistrationOnly } from '../auth/auth.decorators';
import type { AgentPrincipal, RegistrationPrincipal } from '../auth/principal';
import { badRequest } from '../common/api-error';
import { ArtifactsService } from '../artifacts/artifacts.service';
import { ActiveNodesDto, FinishJobDto, HeartbeatDto, LogBatchDto, RegisterAgentDto } from './agents.dto';
import { AgentsService } from './agents.service';

const jobId = new ParseIntPipe({ exceptionFactory: () => badRequest('The job id must be a positive integer.') });

@ApiTags('agent protocol')
@ApiBearerAuth()
@Controller('api/v1/agents')
export class AgentProtocolController {
  constructor(
    private readonly agents: AgentsService,
    private readonly artifacts: ArtifactsService,
  ) {}

  @Post('register')
  @RegistrationOnly()
  register(@CurrentRegistration() registration: RegistrationPrincipal, @Body() body: RegisterAgentDto) {
    return this.agents.register(registration, body);
  }

  @Post('heartbeat')
  @AgentOnly()
  @HttpCode(200)
  heartbeat(@CurrentAgent() agent: AgentPrincipal, @Body() body: HeartbeatDto) {
    return this.agents.heartbeat(agent, body.jobId ?? null);
  }

  @Post('sign-off')
  @AgentOnly()
  @HttpCode(204)
  signOff(@CurrentAgent() agent: AgentPrincipal) {
    return this.agents.signOff(agent);
  }

  @Post('claim')
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

  @Post('jobs/:id/start')
  @AgentOnly()
  @HttpCode(200)
  async start(@CurrentAgent() agent: AgentPrincipal, @Param('id', jobId) id: number) {
    await this.agents.start(agent, id);
    return { ok: true };
  }

  @Post('jobs/:id/logs')
  @AgentOnly()
  @HttpCode(200)
  logs(@CurrentAgent() agent: AgentPrincipal, @Param('id', jobId) id: number, @Body() body: LogBatchDto) {
    return this.agents.appendLogs(agent, id, body);
  }

  @Post('jobs/:id/nodes')
  @AgentOnly()
  @HttpCode(200)
  nodes(@CurrentAgent() agent: AgentPrincipal, @Param('id', jobId) id: number, @Body() body: ActiveNodesDto) {
    return this.agents.reportNodes(agent, id, body);
  }

  @Put('jobs/:id/artifacts/:name')
  @AgentOnly()
  upload(@CurrentAgent() agent: AgentPrincipal, @Param('id', jobId) id: number, @Param('name') name: string, @Req() req: Request) {
    const length = req.headers['content-length'] === undefined ? null : Number(req.headers['content-length']);
    const checksum = req.headers['x-checksum-sha256'];
    return this.artifacts.upload(agent, id, name, req, typeof checksum === 'string' ? checksum : undefined, length);
  }

  @Get('jobs/:id/artifacts/:name')
  @AgentOnly()
  async download(@CurrentAgent() agent: AgentPrincipal, @Param('id', jobId) id: number, @Param('name') name: string, @Query('run') run: string | undefined, @Res() res: Response) {
    const row = await this.artifacts.findForAgent(agent, id, name, run);
    res.setHeader('Content-Type', 'application/octet-stream');
    res.setHeader('Content-Length', String(row.size));
    res.setHeader('X-Checksum-Sha256', row.sha256);
    await pipeline(await this.artifacts.open(row), res);
  }

  @Post('jobs/:id/release')
  @AgentOnly()
  @HttpCode(200)
  async release(@CurrentAgent() agent: AgentPrincipal, @Param('id', jobId) id: number) {
    await this.agents.release(agent, id);
    return { ok: true };
  }

  @Post('jobs/:id/finish')
  @AgentOnly()
  @HttpCode(200)
  finish(@CurrentAgent() agent: AgentPrincipal, @Param('id', jobId) id: number, @Body() body: FinishJobDto) {
    return this.agents.finish(agent, id, { status: body.status, exitCode: body.exitCode ?? null });
  }
}
