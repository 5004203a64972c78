import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayNotEmpty, IsArray, IsIn, IsOptional, IsString, Length, Matches } from 'class-validator';
import { SCOPES, type Scope } from '../auth/principal';

export class CreateTokenDto {
  @ApiProperty({ example: 'ci-bot' })
  @IsString()
  @Length(1, 100)
  name!: string;

  @ApiProperty({ enum: SCOPES, isArray: true, example: ['trigger'] })
  @IsArray()
  @ArrayNotEmpty()
  @IsIn(SCOPES, { each: true, message: `each scope must be one of: ${SCOPES.join(', ')}` })
  scopes!: Scope[];

  @ApiPropertyOptional({ description: 'Limit the token to one project (its slug).' })
  @IsOptional()
  @IsString()
  @Matches(/^[a-z0-9][a-z0-9-]{0,62}$/, { message: 'project must be a project slug' })
  project?: string;
}

export class CreateAgentTokenDto {
  @ApiProperty({ example: 'build-fleet' })
  @IsString()
  @Length(1, 100)
  name!: string;
}
