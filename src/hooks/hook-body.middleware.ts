import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';

// Webhook signatures cover the exact bytes the sender sent, so deliveries to POST /api/v1/hooks/{id}
// are read raw (whatever their content type) instead of through the JSON parser. A body over the
// limit is drained and marked rather than failed here, so the hook can record the refused delivery.

export const HOOK_DELIVERY_PATH = /^\/api\/v1\/hooks\/[^/]+\/?$/;

export type HookBody = { bytes: Buffer; tooLarge: false } | { bytes: null; tooLarge: true; declaredBytes: number };

export type HookRequest = Request & { hookBody?: HookBody };

export function hookDeliveryBody(limit: number): RequestHandler {
  const raw = express.raw({ type: () => true, limit });
  return (req: HookRequest, res: Response, next: NextFunction) => {
    if (req.method !== 'POST' || !HOOK_DELIVERY_PATH.test(req.path)) {
      next();
      return;
    }
    raw(req, res, (error?: unknown) => {
      if ((error as { type?: string } | undefined)?.type === 'entity.too.large') {
        req.hookBody = { bytes: null, tooLarge: true, declaredBytes: Number(req.headers['content-length']) || 0 };
        next();
        return;
      }
      if (error) {
        next(error);
        return;
      }
      req.hookBody = { bytes: Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0), tooLarge: false };
      next();
    });
  };
}
