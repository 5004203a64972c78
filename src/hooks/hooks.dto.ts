import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, IsArray, IsIn, IsOptional, IsString, Length, Matches, MaxLength } from 'class-validator';
import type { HookFormat } from './hook-payloads';

export const HOOK_FORMATS: readonly HookFormat[] = ['github', 'standard', 'token'];

export class CreateHookDto {
  @ApiProperty({ example: 'build', description: 'The pipeline every accepted delivery runs.' })
  @IsString()
  @Matches(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/, { message: 'pipeline must be a pipeline name' })
  pipeline!: string;

  @ApiProperty({
    enum: HOOK_FORMATS,
    description:
      'github: X-Hub-Signature-256 HMAC; standard: Standard Webhooks (webhook-id/-timestamp/-signature); token: a trigger-scoped bearer token.',
  })
  @IsIn(HOOK_FORMATS, { message: `format must be one of: ${HOOK_FORMATS.join(', ')}` })
  format!: HookFormat;

  @ApiPropertyOptional({
    description: 'HMAC secret (github: any string of 16+ characters; standard: whsec_<base64 of 24-64 bytes>). Generated when absent; returned once.',
  })
  @IsOptional()
  @IsString()
  @Length(16, 256)
  secret?: string;

  @ApiPropertyOptional({ type: [String], example: ['push'], description: 'Events that start a run (globs). Default: github ["push"], others all.' })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(50)
  @IsString({ each: true })
  @Length(1, 100, { each: true })
  events?: string[];

  @ApiPropertyOptional({ type: [String], example: ['main', 'release/*'], description: 'Branch or tag globs that start a run; empty means all.' })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(50)
  @IsString({ each: true })
  @Length(1, 255, { each: true })
  branches?: string[];

  @ApiPropertyOptional({ example: 'GitHub pushes of acme/web' })
  @IsOptional()
  @IsString()
  @MaxLength(500)
  description?: string;
}
