import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsInt, IsOptional, Min } from 'class-validator';

export class MoveJobDto {
  @ApiProperty() @IsInt() @Min(1) jobId!: number;
  @ApiPropertyOptional() @IsOptional() @IsInt() @Min(1) beforeJobId?: number;
  @ApiPropertyOptional() @IsOptional() @IsInt() @Min(1) afterJobId?: number;
}
