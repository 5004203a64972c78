import { Inject, Injectable } from '@nestjs/common';
import type { DeliveryVerdict } from '../../contract/hooks.contract';
import { SQL, type Sql } from '../database/sql';
import type { HookFormat } from './hook-payloads';

export type { DeliveryVerdict } from '../../contract/hooks.contract';

export type HookRow = {
  id: string;
  projectId: string;
  project: string;
  pipeline: string;
  format: HookFormat;
  secretCiphertext: string | null;
  tokenId: string | null;
  events: string[];
  branches: string[];
  description: string | null;
  createdBy: string;
  createdAt: Date;
};

export type DeliveryRecord = {
  hookId: string;
  deliveryId: string | null;
  event: string | null;
  verdict: DeliveryVerdict;
  verified: boolean;
  reason: string | null;
  runId: number | null;
  responseCode: number;
  headers: Record<string, string>;
  body: Buffer | null;
  bodyBytes: number;
  redeliveryOf: number | null;
  redeliveredBy: string | null;
};

export type DeliveryRow = Omit<DeliveryRecord, 'body'> & { id: number; receivedAt: Date; bodyKept: boolean };

/** How many deliveries each hook keeps; older ones are pruned as new ones arrive. */
export const DELIVERIES_KEPT_PER_HOOK = 500;

@Injectable()
export class HooksRepository {
  constructor(@Inject(SQL) private readonly sql: Sql) {}

  async insert(hook: {
    projectId: string;
    pipeline: string;
    format: HookFormat;
    secretCiphertext: string | null;
    tokenId: string | null;
    events: string[];
    branches: string[];
    description: string | null;
    createdBy: string;
  }): Promise<string> {
    const [row] = await this.sql<{ id: string }[]>`
      insert into hooks (project_id, pipeline, format, secret_ciphertext, token_id, events, branches, description, created_by)
      values (${hook.projectId}, ${hook.pipeline}, ${hook.format}, ${hook.secretCiphertext}, ${hook.tokenId}, ${hook.events},
              ${hook.branches}, ${hook.description}, ${hook.createdBy})
      returning id`;
    return row.id;
  }

  async get(id: string): Promise<HookRow | undefined> {
    const [row] = await this.sql<HookRow[]>`${this.hookQuery()} where h.id = ${id}`;
    return row;
  }

  async listForProject(projectId: string): Promise<HookRow[]> {
    return this.sql<HookRow[]>`${this.hookQuery()} where h.project_id = ${projectId} order by h.created_at, h.id`;
  }

  /** Deletes the hook and its deliveries; returns the token minted with it, if any, for revocation. */
  async delete(id: string): Promise<{ tokenId: string | null } | undefined> {
    const [row] = await this.sql<{ tokenId: string | null }[]>`delete from hooks where id = ${id} returning token_id as "tokenId"`;
    return row;
  }

  async recordDelivery(delivery: DeliveryRecord): Promise<number> {
    const [row] = await this.sql<{ id: number }[]>`
      insert into hook_deliveries (hook_id, delivery_id, event, verdict, verified, reason, run_id, response_code, headers, body, body_bytes,
                                   redelivery_of, redelivered_by)
      values (${delivery.hookId}, ${delivery.deliveryId}, ${delivery.event}, ${delivery.verdict}, ${delivery.verified}, ${delivery.reason},
              ${delivery.runId}, ${delivery.responseCode}, ${this.sql.json(delivery.headers)}, ${delivery.body}, ${delivery.bodyBytes},
              ${delivery.redeliveryOf}, ${delivery.redeliveredBy})
      returning id`;
    // Keep the newest deliveries only; cheap through the (hook_id, id desc) index.
    await this.sql`
      delete from hook_deliveries
      where hook_id = ${delivery.hookId}
        and id < (select id from hook_deliveries where hook_id = ${delivery.hookId} order by id desc offset ${DELIVERIES_KEPT_PER_HOOK - 1} limit 1)`;
    return row.id;
  }

  async listDeliveries(hookId: string, beforeId: number | null, limit: number): Promise<DeliveryRow[]> {
    return this.sql<DeliveryRow[]>`
      ${this.deliveryQuery()}
      where d.hook_id = ${hookId} and (${beforeId}::bigint is null or d.id < ${beforeId})
      order by d.id desc limit ${limit}`;
  }

  async getDelivery(hookId: string, id: number): Promise<(DeliveryRow & { body: Buffer | null }) | undefined> {
    const [row] = await this.sql<(DeliveryRow & { body: Buffer | null })[]>`
      ${this.deliveryQuery(this.sql`, d.body`)} where d.id = ${id} and d.hook_id = ${hookId}`;
    return row;
  }

  private hookQuery() {
    return this.sql`
      select h.id, h.project_id as "projectId", p.slug as project, h.pipeline, h.format, h.secret_ciphertext as "secretCiphertext",
             h.token_id as "tokenId", h.events, h.branches, h.description, h.created_by as "createdBy", h.created_at as "createdAt"
      from hooks h join projects p on p.id = h.project_id`;
  }

  private deliveryQuery(extra = this.sql``) {
    return this.sql`
      select d.id, d.hook_id as "hookId", d.delivery_id as "deliveryId", d.event, d.verdict, d.verified, d.reason, d.run_id as "runId",
             d.response_code as "responseCode", d.headers, d.body_bytes as "bodyBytes", d.body is not null as "bodyKept",
             d.redelivery_of as "redeliveryOf", d.redelivered_by as "redeliveredBy", d.received_at as "receivedAt" ${extra}
      from hook_deliveries d`;
  }
}
