import { Injectable, Logger } from '@nestjs/common';
import type { z } from 'zod';
import type { api } from '../../contract';
import type { HookDelivery, HookDeliveryDetail, HookDeliveryList } from '../../contract/hooks.contract';
import type { RouteQuery } from '../../contract/http';
import type { TokenPrincipal } from '../auth/principal';
import { notFound } from '../common/api-error';
import { HooksRepository, type DeliveryRow, type DeliveryVerdict, type HookRow } from './hooks.repository';
import { HooksService } from './hooks.service';

/** What happened to one delivery, as the log keeps it (the answer's body is not kept). */
export type DeliveryEntry = {
  status: number;
  verdict: DeliveryVerdict;
  reason: string | null;
  runId: number | null;
  deliveryId: string | null;
  event: string | null;
  verified: boolean;
  headers: Record<string, string>;
  body: Buffer | null;
  bodyBytes: number;
  redeliveryOf: number | null;
  redeliveredBy: string | null;
};

/** The delivery log: every delivery's outcome, accepted or not, recorded in one place and read back by operators. */
@Injectable()
export class HookDeliveryLog {
  private readonly logger = new Logger('hooks');

  constructor(
    private readonly hooks: HooksRepository,
    private readonly hookAccess: HooksService,
  ) {}

  async deliveries(principal: TokenPrincipal, hookId: string, { cursor: beforeId, limit }: RouteQuery<typeof api.hooks.deliveries>): Promise<z.output<typeof HookDeliveryList>> {
    await this.hookAccess.load(principal, hookId);
    const rows = await this.hooks.listDeliveries(hookId, beforeId, limit);
    return { deliveries: rows.map(deliveryView), nextCursor: rows.length === limit ? String(rows[rows.length - 1].id) : null };
  }

  async delivery(principal: TokenPrincipal, hookId: string, id: number): Promise<z.output<typeof HookDeliveryDetail>> {
    await this.hookAccess.load(principal, hookId);
    const row = await this.hooks.getDelivery(hookId, id);
    if (!row) throw notFound('delivery', id);
    return { ...deliveryView(row), body: row.body ? row.body.toString('utf8') : null };
  }

  /** A stored delivery, for redelivery (its body and headers included). */
  find(hookId: string, id: number): Promise<(DeliveryRow & { body: Buffer | null }) | undefined> {
    return this.hooks.getDelivery(hookId, id);
  }

  /** Records one outcome (and logs a line for it); returns the log entry's id. */
  async record(hook: HookRow, entry: DeliveryEntry): Promise<number> {
    this.logger.log(
      `hook ${hook.id} delivery ${entry.deliveryId ?? '-'} event ${entry.event ?? '-'}: ${entry.verdict} ${entry.status}` +
        (entry.runId ? ` run ${entry.runId}` : '') +
        (entry.reason ? ` (${entry.reason})` : ''),
    );
    return this.hooks.recordDelivery({
      hookId: hook.id,
      deliveryId: entry.deliveryId?.slice(0, 200) ?? null,
      event: entry.event?.slice(0, 200) ?? null,
      verdict: entry.verdict,
      verified: entry.verified,
      reason: entry.reason,
      runId: entry.runId,
      responseCode: entry.status,
      headers: entry.headers,
      body: entry.body,
      bodyBytes: entry.bodyBytes,
      redeliveryOf: entry.redeliveryOf,
      redeliveredBy: entry.redeliveredBy,
    });
  }

}

export function deliveryView(row: DeliveryRow): z.output<typeof HookDelivery> {
  return {
    id: row.id,
    deliveryId: row.deliveryId,
    event: row.event,
    verdict: row.verdict,
    verified: row.verified,
    reason: row.reason,
    runId: row.runId,
    responseCode: row.responseCode,
    bodyBytes: row.bodyBytes,
    bodyKept: row.bodyKept,
    headers: row.headers,
    redeliveryOf: row.redeliveryOf,
    redeliveredBy: row.redeliveredBy,
    receivedAt: row.receivedAt,
  };
}

