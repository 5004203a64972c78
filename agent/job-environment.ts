// Builds the job's environment. Pure, so precedence and naming are easy to pin down in tests.

import type { ClaimedJob } from '../contract/agent-protocol.contract';

/** Variables of the agent process that a job must never see. */
const HIDDEN_AGENT_VARIABLES = ['BELLOWS_AGENT_TOKEN'];

export type JobEnvironmentInput = {
  job: ClaimedJob;
  serverUrl: string;
  workspaceDir: string;
  artifactsDir: string;
  /** The file the job writes its outputs to ($BELLOWS_OUTPUT), fresh and empty for each try. */
  outputFile: string;
  agentEnv: NodeJS.ProcessEnv;
};

/**
 * Precedence, lowest first: the agent's environment, the pipeline's `env`, then the variables Bellows
 * defines, so a pipeline cannot spoof BELLOWS_JOB_ID or point BELLOWS_ARTIFACTS_DIR elsewhere.
 */
export function buildJobEnvironment(input: JobEnvironmentInput): NodeJS.ProcessEnv {
  const { job: claimed, serverUrl, workspaceDir, artifactsDir } = input;
  const env: NodeJS.ProcessEnv = { ...input.agentEnv };
  for (const name of HIDDEN_AGENT_VARIABLES) delete env[name];
  Object.assign(env, claimed.env);
  for (const [key, value] of Object.entries(claimed.matrix)) env[`MATRIX_${envKey(key)}`] = value;
  for (const [key, value] of Object.entries(claimed.inputs)) env[`ACT_INPUT_INPUT_${envKey(key)}`] = value;
  env.ACT_INPUT_INPUTS = JSON.stringify(claimed.inputs);
  // Secrets only under this prefix: exporting them under their own names would leak them into every tool.
  for (const [key, value] of Object.entries(claimed.secrets)) env[`ACT_INPUT_SECRET_${envKey(key)}`] = value;
  env.ACT_INPUT_SECRETS = JSON.stringify(claimed.secrets);
  for (const [job, { outputs }] of Object.entries(claimed.needs ?? {})) {
    for (const [key, value] of Object.entries(outputs)) env[needsEnvName(job, key)] = value;
  }
  Object.assign(env, {
    CI: 'true',
    BELLOWS_SERVER_URL: serverUrl,
    BELLOWS_RUN_ID: String(claimed.run.id),
    BELLOWS_RUN_NUMBER: String(claimed.run.number),
    BELLOWS_JOB_ID: String(claimed.job.id),
    BELLOWS_JOB_NAME: claimed.job.name,
    BELLOWS_ATTEMPT: String(claimed.run.attempt),
    BELLOWS_TRY: String(claimed.job.try),
    BELLOWS_PROJECT: claimed.run.project,
    BELLOWS_PIPELINE: claimed.run.pipeline,
    BELLOWS_REF: claimed.run.ref,
    BELLOWS_COMMIT_SHA: claimed.run.commitSha ?? '',
    BELLOWS_WORKSPACE: workspaceDir,
    BELLOWS_ARTIFACTS_DIR: artifactsDir,
    BELLOWS_OUTPUT: input.outputFile,
  });
  // The repository's address for tools that want it (parseCheckout took any credentials out of it).
  if (claimed.repository) env.BELLOWS_REPOSITORY_URL = claimed.repository.url;
  if (claimed.pipeline.path) env.BELLOWS_PIPELINE_FILE = claimed.pipeline.path;
  return env;
}

/** `node-version` → `NODE_VERSION`: upper case, and usable as a shell variable name. */
export function envKey(key: string): string {
  return key.toUpperCase().replace(/[^A-Z0-9_]/g, '_');
}

/** Output `KEY` of needed job `JOB` as a variable: `NEEDS_<JOB>_<KEY>`, both by envKey (`build-linux` → `BUILD_LINUX`). */
export function needsEnvName(job: string, key: string): string {
  return `NEEDS_${envKey(job)}_${envKey(key)}`;
}
