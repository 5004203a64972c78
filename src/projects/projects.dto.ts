import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsObject, IsOptional, IsString, Length, Matches, ValidateIf } from 'class-validator';
import type { RepositoryInput } from '../repositories/repository-spec';

export const SLUG_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;

const REPOSITORY_DOC = {
  description:
    'The git repository of the project: `url` (https://, ssh://, user@host:path, git://, or file:// where the server allows local repositories), ' +
    '`defaultBranch` (otherwise the repository\'s own), `credentialsSecret` (the name of a project secret holding a token or user:password for https, or a private key for ssh).',
  example: { url: 'https://github.com/acme/web-shop.git', defaultBranch: 'main', credentialsSecret: 'GIT_TOKEN' },
};

export class CreateProjectDto {
  @ApiProperty({ example: 'web-shop', description: 'Lower-case letters, digits and dashes; 1-63 characters.' })
  @IsString()
  @Matches(SLUG_PATTERN, { message: 'slug must be 1-63 lower-case letters, digits or dashes, starting with a letter or digit' })
  slug!: string;

  @ApiProperty({ example: 'Web shop' })
  @IsString()
  @Length(1, 200)
  name!: string;

  @ApiPropertyOptional(REPOSITORY_DOC)
  @IsOptional()
  @IsObject()
  repository?: RepositoryInput;
}

export class UpdateProjectDto {
  @ApiPropertyOptional({ example: 'Web shop' })
  @IsOptional()
  @IsString()
  @Length(1, 200)
  name?: string;

  @ApiPropertyOptional({ ...REPOSITORY_DOC, nullable: true, description: `${REPOSITORY_DOC.description} \`null\` removes the repository.` })
  @IsOptional()
  @ValidateIf((_object, value) => value !== null)
  @IsObject()
  repository?: RepositoryInput | null;
}
