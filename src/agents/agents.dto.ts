import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsIn,
  IsInt,
  IsISO8601,
  IsObject,
  IsOptional,
  IsString,
  Length,
  Matches,
  MaxLength,
  Min,
  ValidateNested,
} from 'class-validator';
import { AGENT_NAME_PATTERN, AGENT_NAME_RULE, LABEL_PATTERN, LABEL_RULE, MAX_AGENT_LABELS } from './agent-protocol';

const LABEL_MESSAGE = `each label must be ${LABEL_RULE}`;

export class RegisterAgentDto {
  @ApiProperty({ example: 'build-1' })
  @IsString()
  @Matches(AGENT_NAME_PATTERN, { message: `name must be ${AGENT_NAME_RULE}` })
  name!: string;

  @ApiProperty({ type: [String], example: ['os=linux', 'arch=x64'] })
  @IsArray()
  @ArrayMaxSize(MAX_AGENT_LABELS)
  @Matches(LABEL_PATTERN, { each: true, message: LABEL_MESSAGE })
  labels!: string[];

  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(255) hostname?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(64) os?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(64) arch?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(64) version?: string;
}

export class HeartbeatDto {
  @ApiPropertyOptional({ description: 'The job the agent is running, if any.' })
  @IsOptional()
  @IsInt()
  @Min(1)
  jobId?: number;
}

export class UpdateAgentDto {
  @ApiProperty({ type: [String], nullable: true, description: 'Server-side labels that replace what the agent declared; null restores them.' })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(MAX_AGENT_LABELS)
  @Matches(LABEL_PATTERN, { each: true, message: LABEL_MESSAGE })
  labels!: string[] | null;
}

export class LogChunkDto {
  @ApiProperty({ enum: ['stdout', 'stderr', 'system'] })
  @IsIn(['stdout', 'stderr', 'system'])
  stream!: 'stdout' | 'stderr' | 'system';

  @ApiProperty()
  @IsString()
  @MaxLength(1024 * 1024)
  text!: string;

  @ApiPropertyOptional() @IsOptional() @IsString() @Length(1, 300) node?: string;
  @ApiPropertyOptional() @IsOptional() @IsISO8601() at?: string;
}

export class LogBatchDto {
  @ApiProperty({ description: 'Batch number within the try, from 0, consecutive.' })
  @IsInt()
  @Min(0)
  seq!: number;

  @ApiProperty({ type: [LogChunkDto] })
  @IsArray()
  @ArrayMaxSize(10000)
  @ValidateNested({ each: true })
  @Type(() => LogChunkDto)
  chunks!: LogChunkDto[];
}

/** A log batch over the agent stream (Socket.IO): the REST body plus the job, which REST has in the path. */
export class StreamedLogBatchDto extends LogBatchDto {
  @IsInt()
  @Min(1)
  jobId!: number;
}

export class ActiveNodesDto {
  @ApiProperty({ type: [String], description: 'Ids of the graph nodes executing now (nested: group-id/child-id).' })
  @IsArray()
  @ArrayMaxSize(1000)
  @IsString({ each: true })
  active!: string[];

  @ApiPropertyOptional({ description: 'Node states that changed since the last report: running | succeeded | failed | skipped.' })
  @IsOptional()
  @IsObject()
  states?: Record<string, 'running' | 'succeeded' | 'failed' | 'skipped'>;
}

export class FinishJobDto {
  @ApiProperty({ enum: ['succeeded', 'failed'] })
  @IsIn(['succeeded', 'failed'])
  status!: 'succeeded' | 'failed';

  @ApiProperty({ nullable: true })
  @IsOptional()
  @IsInt()
  exitCode!: number | null;

  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(4000) error?: string;
}
