import { ApiProperty } from '@nestjs/swagger';
import { IsString, MaxLength } from 'class-validator';

export class PutSecretDto {
  @ApiProperty({ description: 'Write-only: never returned by the API.' })
  @IsString()
  @MaxLength(65536)
  value!: string;
}
