import { Body, Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { RequireScope } from '../auth/auth.decorators';
import { CreateAgentTokenDto, CreateTokenDto } from './tokens.dto';
import { TokensService } from './tokens.service';

@ApiTags('tokens')
@ApiBearerAuth()
@RequireScope('admin')
@Controller('api/v1')
export class TokensController {
  constructor(private readonly tokens: TokensService) {}

  @Post('tokens')
  create(@Body() body: CreateTokenDto) {
    return this.tokens.createApiToken(body);
  }

  @Get('tokens')
  async list() {
    return { tokens: await this.tokens.list('api') };
  }

  @Delete('tokens/:id')
  @HttpCode(204)
  async revoke(@Param('id') id: string) {
    await this.tokens.revoke(id);
  }

  @Post('agent-tokens')
  createAgentToken(@Body() body: CreateAgentTokenDto) {
    return this.tokens.createAgentToken(body.name);
  }

  @Get('agent-tokens')
  async listAgentTokens() {
    return { tokens: (await this.tokens.list('agent')).map(({ id, name, createdAt, lastUsedAt }) => ({ id, name, createdAt, lastUsedAt })) };
  }

  @Delete('agent-tokens/:id')
  @HttpCode(204)
  async revokeAgentToken(@Param('id') id: string) {
    await this.tokens.revoke(id);
  }
}
