import { resolve } from 'node:path';

// All configuration comes from the environment (see the README's configuration table).
export type Config = {
  port: number;
  databaseUrl: string;
  temporalAddress: string;
  temporalNamespace: string;
  taskQueue: string;
  dataDir: string;
  adminToken: string | undefined;
  secretsKey: string | undefined;
  publicUrl: string | undefined;
  agentLostAfterSeconds: number;
  reaperIntervalSeconds: number;
  reconcileSeconds: number;
  cancelGraceSeconds: number;
  maxTries: number;
  maxJsonBodyBytes: number;
  maxArtifactBytes: number;
  maxLogBytesPerJob: number;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
};

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const dataDir = resolve(env.BELLOWS_DATA_DIR ?? '.data');
  return {
    port: intFrom(env, 'PORT', 3000),
    databaseUrl: env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5433/bellows',
    temporalAddress: env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233',
    temporalNamespace: env.TEMPORAL_NAMESPACE ?? 'default',
    taskQueue: env.BELLOWS_TASK_QUEUE ?? 'bellows-runs',
    dataDir,
    adminToken: env.BELLOWS_ADMIN_TOKEN || undefined,
    secretsKey: env.BELLOWS_SECRETS_KEY || undefined,
    publicUrl: env.BELLOWS_PUBLIC_URL || undefined,
    agentLostAfterSeconds: intFrom(env, 'BELLOWS_AGENT_LOST_AFTER_SECONDS', 30),
    reaperIntervalSeconds: intFrom(env, 'BELLOWS_REAPER_INTERVAL_SECONDS', 2),
    reconcileSeconds: intFrom(env, 'BELLOWS_RECONCILE_SECONDS', 60),
    cancelGraceSeconds: intFrom(env, 'BELLOWS_CANCEL_GRACE_SECONDS', 30),
    maxTries: intFrom(env, 'BELLOWS_MAX_TRIES', 3),
    maxJsonBodyBytes: intFrom(env, 'BELLOWS_MAX_JSON_BYTES', 5 * 1024 * 1024),
    maxArtifactBytes: intFrom(env, 'BELLOWS_MAX_ARTIFACT_BYTES', 5 * 1024 * 1024 * 1024),
    maxLogBytesPerJob: intFrom(env, 'BELLOWS_MAX_LOG_BYTES', 64 * 1024 * 1024),
    logLevel: (['debug', 'info', 'warn', 'error'] as const).find((l) => l === env.BELLOWS_LOG_LEVEL) ?? 'info',
  };
}

function intFrom(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) {
    throw new Error(`${name} must be a non-negative integer, got "${raw}"`);
  }
  return value;
}

export const CONFIG = Symbol('CONFIG');
