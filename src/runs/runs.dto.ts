import { ApiPropertyOptional, ApiProperty } from '@nestjs/swagger';
import { ArrayMaxSize, ArrayNotEmpty, IsArray, IsBoolean, IsInt, IsObject, IsOptional, IsString, Length, Matches, Min } from 'class-validator';

export class TriggerRunDto {
  @ApiPropertyOptional({ example: 'main', description: 'Branch, tag or commit; defaults to the repository’s default branch (projects without a repository: main).' })
  @IsOptional()
  @IsString()
  @Length(1, 255)
  ref?: string;

  @ApiPropertyOptional({ example: '9fceb02d0ae598e95dc970b74767f19372d61af8' })
  @IsOptional()
  @IsString()
  @Matches(/^[0-9a-f]{7,64}$/i, { message: 'commitSha must be a hex commit id' })
  commitSha?: string;

  @ApiPropertyOptional({ example: { name: 'world' } })
  @IsOptional()
  @IsObject()
  inputs?: Record<string, string>;

  @ApiPropertyOptional({ example: { DEPLOY_TARGET: 'staging' } })
  @IsOptional()
  @IsObject()
  env?: Record<string, string>;
}

export class RerunDto {
  @ApiPropertyOptional({ description: 'Re-run only the jobs that did not succeed, and what depends on them.' })
  @IsOptional()
  @IsBoolean()
  failedOnly?: boolean;
}

export class BulkCancelDto {
  @ApiProperty({ type: [Number], example: [12, 13] })
  @IsArray()
  @ArrayNotEmpty()
  @ArrayMaxSize(500)
  @IsInt({ each: true })
  @Min(1, { each: true })
  ids!: number[];
}
