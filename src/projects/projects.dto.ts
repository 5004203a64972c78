import { ApiProperty } from '@nestjs/swagger';
import { IsString, Length, Matches } from 'class-validator';

export const SLUG_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;

export class CreateProjectDto {
  @ApiProperty({ example: 'web-shop', description: 'Lower-case letters, digits and dashes; 1-63 characters.' })
  @IsString()
  @Matches(SLUG_PATTERN, { message: 'slug must be 1-63 lower-case letters, digits or dashes, starting with a letter or digit' })
  slug!: string;

  @ApiProperty({ example: 'Web shop' })
  @IsString()
  @Length(1, 200)
  name!: string;
}
