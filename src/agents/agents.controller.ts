import { Body, Controller, Delete, Get, HttpCode, Param, Patch } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { RequireScope } from '../auth/auth.decorators';
import { UpdateAgentDto } from './agents.dto';
import { AgentsService } from './agents.service';

@ApiTags('agents')
@ApiBearerAuth()
@Controller('api/v1/agents')
export class AgentsController {
  constructor(private readonly agents: AgentsService) {}

  @Get()
  @RequireScope('read')
  async list() {
    return { agents: await this.agents.list() };
  }

  @Patch(':id')
  @RequireScope('admin')
  update(@Param('id') id: string, @Body() body: UpdateAgentDto) {
    return this.agents.setLabels(id, body.labels ?? null);
  }

  @Delete(':id')
  @RequireScope('admin')
  @HttpCode(204)
  async delete(@Param('id') id: string) {
    await this.agents.delete(id);
  }
}
