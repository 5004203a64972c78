import fs from 'node:fs';
import path from 'node:path';
import { Logger } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import express, { type NextFunction, type Request, type Response } from 'express';

const SERVER_PREFIXES = ['/api', '/socket.io', '/metrics'];

/** Paths that belong to the API, the live gateway or the metrics exporter: never answered with the web UI. */
function isServerPath(urlPath: string): boolean {
  return SERVER_PREFIXES.some((prefix) => urlPath === prefix || urlPath.startsWith(`${prefix}/`));
}

/**
 * Serves the built web UI (vite output, `dist/web`) at `/`. Unknown GET/HEAD paths outside `/api` and
 * `/socket.io` get index.html, so client-side routes survive a reload. Call before `app.listen`.
 */
export function serveWebUi(app: NestExpressApplication, webDistDir: string): void {
  const indexFile = path.join(webDistDir, 'index.html');
  if (!fs.existsSync(indexFile)) {
    new Logger('web').warn(`web UI not built (${indexFile} is missing); run npm run build`);
  }
  const assets = express.static(webDistDir, {
    index: false,
    fallthrough: true,
    setHeaders: (res, file) => {
      // Vite fingerprints everything under assets/; index.html must always be revalidated.
      if (file.includes(`${path.sep}assets${path.sep}`)) res.setHeader('Cache-Control', 'public, max-age=31536000, immutable');
      else res.setHeader('Cache-Control', 'no-cache');
    },
  });
  app.use((req: Request, res: Response, next: NextFunction) => {
    if ((req.method !== 'GET' && req.method !== 'HEAD') || isServerPath(req.path)) return next();
    assets(req, res, () => {
      // A missing file with an extension (e.g. an old /assets/x.js) is a real 404, not the SPA.
      if (path.extname(req.path) && req.path.startsWith('/assets/')) return next();
      if (!fs.existsSync(indexFile)) return next();
      res.setHeader('Cache-Control', 'no-cache');
      res.sendFile(indexFile);
    });
  });
}
