import { resolve } from 'node:path';

// All configuration comes from the environment (every setting is in docs/configuration.md).
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
  /** `text` for people, `json` (one object per line, ids as fields) for log tooling. */
  logFormat: 'text' | 'json';
  artifactStore: ArtifactStoreConfig;
  metricsToken: string | undefined;
  /** file:// repositories are local paths on the server: allowed only where the operator says so (npm start does). */
  allowFileRepositories: boolean;
};

export type ArtifactStoreConfig =
  | { kind: 'disk' }
  | {
      kind: 's3';
      bucket: string;
      endpoint: string | undefined;
      region: string;
      accessKeyId: string | undefined;
      secretAccessKey: string | undefined;
      forcePathStyle: boolean;
      prefix: string;
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
    logLevel: oneOf(env, 'BELLOWS_LOG_LEVEL', ['debug', 'info', 'warn', 'error'] as const, 'info'),
    logFormat: oneOf(env, 'BELLOWS_LOG_FORMAT', ['text', 'json'] as const, 'text'),
    artifactStore: artifactStoreFrom(env),
    metricsToken: env.BELLOWS_METRICS_TOKEN || undefined,
    allowFileRepositories: env.BELLOWS_ALLOW_FILE_REPOSITORIES === 'true',
  };
}

function artifactStoreFrom(env: NodeJS.ProcessEnv): ArtifactStoreConfig {
  const kind = env.BELLOWS_ARTIFACT_STORE ?? 'disk';
  if (kind === 'disk') return { kind: 'disk' };
  if (kind !== 's3') throw new Error(`BELLOWS_ARTIFACT_STORE must be disk or s3, got "${kind}"`);
  const bucket = env.BELLOWS_S3_BUCKET;
  if (!bucket) throw new Error('BELLOWS_ARTIFACT_STORE=s3 needs BELLOWS_S3_BUCKET');
  const endpoint = env.BELLOWS_S3_ENDPOINT || undefined;
  return {
    kind: 's3',
    bucket,
    endpoint,
    region: env.BELLOWS_S3_REGION ?? env.AWS_REGION ?? 'us-east-1',
    accessKeyId: env.BELLOWS_S3_ACCESS_KEY_ID ?? env.AWS_ACCESS_KEY_ID,
    secretAccessKey: env.BELLOWS_S3_SECRET_ACCESS_KEY ?? env.AWS_SECRET_ACCESS_KEY,
    // S3-compatible servers (MinIO, Ceph, s3rver) usually want path-style addressing.
    forcePathStyle: (env.BELLOWS_S3_FORCE_PATH_STYLE ?? (endpoint ? 'true' : 'false')) === 'true',
    prefix: env.BELLOWS_S3_PREFIX ?? '',
  };
}

/** A setting with a fixed set of values; a typo is an error at start-up, not a silent default. */
function oneOf<T extends string>(env: NodeJS.ProcessEnv, name: string, values: readonly T[], fallback: T): T {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = values.find((candidate) => candidate === raw);
  if (value === undefined) throw new Error(`${name} must be one of ${values.join(', ')}, got "${raw}"`);
  return value;
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
