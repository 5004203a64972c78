import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { resolve } from 'node:path';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import express, { type NextFunction, type Request, type Response } from 'express';
import { api } from '../contract';
import { buildOpenApiDocument } from '../contract/openapi';
import { AppModule } from './app.module';
import { ApiError } from './common/api-error';
import { createAppLogger } from './common/app-logger';
import { ApiExceptionFilter } from './common/api-exception.filter';
import { CONFIG, loadConfig, type Config } from './config/config';
import { hookDeliveryBody } from './hooks/hook-body.middleware';
import { DeliveryGate } from './live/delivery-gate';
import { LivePool } from './live/live-pool';
import { PostgresIoAdapter } from './live/postgres-adapter';
import { serveWebUi } from './web/serve-web-ui';

async function bootstrap(): Promise<void> {
  // Body parsing is ours: JSON only for JSON requests (artifact uploads stream untouched), with a size limit.
  const app = await NestFactory.create<NestExpressApplication>(AppModule, { bodyParser: false, logger: createAppLogger(loadConfig()) });
  const config = app.get<Config>(CONFIG);
  // Webhook deliveries first, as raw bytes: their signatures cover the body exactly as sent.
  app.use(hookDeliveryBody(config.maxJsonBodyBytes));
  app.use(express.json({ limit: config.maxJsonBodyBytes, type: ['application/json', 'application/*+json'] }));
  app.use(namedBodyParserErrors);
  app.useGlobalFilters(new ApiExceptionFilter());
  app.enableShutdownHooks();
  // Live views: Socket.IO on this HTTP server, broadcasting to every instance through Postgres.
  const liveLogger = new Logger('live');
  app.useWebSocketAdapter(
    new PostgresIoAdapter(app, app.get(LivePool).pool, app.get(DeliveryGate), (error) => liveLogger.warn(`socket.io postgres adapter: ${error.message}`)),
  );

  // The document comes from the contract, as the handlers do: request and response schemas for every route.
  const document = buildOpenApiDocument(api, {
    title: 'Bellows API',
    version: '1',
    description: 'Runs, jobs, agents, logs and artifacts. Authenticate with `Authorization: Bearer <token>`.',
  });
  SwaggerModule.setup('api/docs', app, document as unknown as OpenAPIObject, { jsonDocumentUrl: 'api/docs-json' });
  // The web UI (built into dist/web): every other GET path falls back to its index.html.
  serveWebUi(app, resolve(__dirname, '..', 'web'));

  await app.listen(config.port, process.env.HOST ?? '0.0.0.0');
  new Logger('api').log(`listening on port ${config.port}`);
}

// Nest turns every body-parser SyntaxError into a bare 400; name the problem before it does.
function namedBodyParserErrors(error: Error & { type?: string }, _req: Request, _res: Response, next: NextFunction): void {
  if (error.type === 'entity.parse.failed') next(new ApiError(400, 'malformed_json', `Request body is not valid JSON: ${error.message}`));
  else next(error);
}

bootstrap().catch((error: unknown) => {
  console.error(JSON.stringify({ level: 'error', msg: 'api failed to start', error: error instanceof Error ? error.message : String(error) }));
  process.exit(1);
});
