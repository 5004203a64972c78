import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsArray, IsIn, IsInt, IsObject, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import type { InputDefinition, JobDefinition, MatrixValue } from './pipeline-spec';

export class PutPipelineDto {
  @ApiPropertyOptional({ description: 'A `.act` graph (YAML) or a shell script. Give this or `path`.', example: 'echo hello\n' })
  @IsOptional()
  @IsString()
  @MaxLength(2 * 1024 * 1024)
  content?: string;

  @ApiPropertyOptional({
    description: "The pipeline's file in the project's repository (relative to its root), read at each run's commit. Give this or `content`.",
    example: '.bellows/build.act',
  })
  @IsOptional()
  @IsString()
  @MaxLength(1024)
  path?: string;

  @ApiPropertyOptional({ enum: ['act', 'script'], description: 'Inferred from the content when absent.' })
  @IsOptional()
  @IsIn(['act', 'script'])
  kind?: 'act' | 'script';

  @ApiPropertyOptional({ type: [String], example: ['os=linux'], description: 'Labels an agent must have to run the jobs.' })
  @IsOptional()
  @IsArray()
  @IsString({ each: true })
  labels?: string[];

  @ApiPropertyOptional({ example: { node: ['20', '22'] }, description: 'One job per combination.' })
  @IsOptional()
  @IsObject()
  matrix?: Record<string, MatrixValue[]>;

  @ApiPropertyOptional({ example: { NODE_ENV: 'test' } })
  @IsOptional()
  @IsObject()
  env?: Record<string, string>;

  @ApiPropertyOptional({ example: { name: { required: true, description: 'who to greet' } } })
  @IsOptional()
  @IsObject()
  inputs?: Record<string, InputDefinition>;

  @ApiPropertyOptional({ minimum: 1, maximum: 4320, default: 60 })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(4320)
  timeoutMinutes?: number;

  @ApiPropertyOptional({ description: 'Several jobs with `needs` between them; each may override content, labels, matrix, env.' })
  @IsOptional()
  @IsArray()
  jobs?: JobDefinition[];
}
