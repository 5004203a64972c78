import { join } from 'node:path';
import { Inject, Injectable } from '@nestjs/common';
import { GitMirrors, type MirrorRef } from '../../agent/git/git-mirror';
import { GitError, type GitAuth } from '../../agent/git/git';
import { ApiError, badRequest, unprocessable } from '../common/api-error';
import { CONFIG, type Config } from '../config/config';
import type { Project } from '../projects/projects.repository';
import { SecretsService } from '../secrets/secrets.service';
import { RepositoriesRepository } from './repositories.repository';
import { credentialsFor, displayUrl, pipelinePathProblem, refProblem, type RepositoryConfig } from './repository-spec';

/** Branch lists are cached this long: a page load or a Run dialog does not fetch each time. */
const REF_LIST_MAX_AGE_MS = 10_000;
/** Pipeline files are read whole; the same limit as a pushed pipeline's content. */
const MAX_PIPELINE_BYTES = 2 * 1024 * 1024;
/** Where a repository keeps pipelines to offer on the project page. */
export const PIPELINE_DIR = '.bellows';

export type ResolvedCommit = { ref: string; commitSha: string };
export type PipelineFile = { path: string; kind: 'act' | 'script' };

/** The server side of project repositories: refs, commits and pipeline files, read from bare mirrors. */
@Injectable()
export class RepositoriesService {
  private readonly mirrors: GitMirrors;

  constructor(
    @Inject(CONFIG) config: Config,
    locks: RepositoriesRepository,
    private readonly secrets: SecretsService,
  ) {
    this.mirrors = new GitMirrors(join(config.dataDir, 'git-mirrors'), { lock: (key, work) => locks.withLock(key, work) });
  }

  async branches(project: Project): Promise<{ defaultBranch: string | null; branches: { name: string; commitSha: string }[] }> {
    const repository = requireRepository(project);
    const refs = await this.listRefs(project, repository);
    return {
      defaultBranch: await this.defaultBranch(repository),
      branches: refs.filter((ref) => ref.kind === 'branch').map(({ name, commitSha }) => ({ name, commitSha })),
    };
  }

  /** Branches and tags whose name contains `q` (ignoring case), at most `limit`. */
  async refs(project: Project, q: string, limit: number): Promise<{ refs: MirrorRef[] }> {
    const repository = requireRepository(project);
    const needle = q.toLowerCase();
    const refs = (await this.listRefs(project, repository)).filter((ref) => ref.name.toLowerCase().includes(needle));
    return { refs: refs.slice(0, limit) };
  }

  /**
   * The commit a run runs: the one a webhook reported (fetched if the mirror lacks it), or what `ref`
   * (default: the default branch) names right now. 422 names a ref or commit that does not exist.
   */
  async resolveCommit(project: Project, ref: string | undefined, commitSha: string | null): Promise<ResolvedCommit> {
    const repository = requireRepository(project);
    const auth = await this.auth(project, repository);
    const url = repository.url;
    if (ref !== undefined) {
      const problem = refProblem(ref);
      if (problem) throw unprocessable(`Ref ${problem}.`, 'invalid_ref');
    }
    if (commitSha !== null) {
      const found = await this.git(repository, () => this.mirrors.ensureCommit(url, commitSha, { auth }));
      if (!found) throw unprocessable(`Commit ${commitSha} is not in repository ${displayUrl(url)}.`, 'unknown_commit');
      return { ref: ref ?? (await this.defaultBranch(repository)) ?? commitSha, commitSha };
    }
    // The remote is asked what the ref names now (one round trip, nothing fetched); the mirror catches
    // up only when a file has to be read at a commit it does not have yet (readPipeline).
    const wanted = ref ?? repository.defaultBranch ?? undefined;
    const remote = await this.git(repository, () => this.mirrors.remoteRef(url, wanted, { auth }));
    if (remote) return { ref: wanted ?? remote.name, commitSha: remote.commitSha };
    if (wanted === undefined) throw unprocessable(`Repository ${displayUrl(url)} has no default branch (is it empty?); give a ref.`, 'unknown_ref');
    // Not a branch or tag: perhaps a commit id.
    if (/^[0-9a-f]{7,64}$/i.test(wanted)) {
      await this.git(repository, () => this.mirrors.sync(url, { auth, maxAgeMs: 0 }));
      const commit = await this.git(repository, () => this.mirrors.resolve(url, wanted));
      if (commit) return { ref: wanted, commitSha: commit.commitSha };
    }
    throw unprocessable(`Ref "${wanted}" does not exist in repository ${displayUrl(url)}.`, 'unknown_ref');
  }

  /**
   * resolveCommit + readPipeline for a trigger without a reported commit, overlapped: while the remote is
   * asked what the ref names, the mirror's own idea of the ref is read, and the file read at that commit.
   * When the remote agrees (no push since the mirror's last fetch) that read is the answer; otherwise
   * the file is read at the remote's commit. The guess is one git process beside the remote's, so a trigger
   * that finds the mirror current starts git twice (~20 ms each from the API's process, one after the other).
   */
  async resolveAndRead(project: Project, ref: string | undefined, path: string): Promise<{ commit: ResolvedCommit; content: string }> {
    const repository = requireRepository(project);
    const problem = pipelinePathProblem(path);
    if (problem) throw badRequest(`Pipeline ${problem}.`, 'invalid_path');
    const wanted = ref ?? repository.defaultBranch ?? undefined;
    const speculative = (async () => {
      if ((wanted !== undefined && refProblem(wanted)) || !(await this.mirrors.hasMirror(repository.url))) return undefined;
      return this.mirrors.readAtRef(repository.url, wanted ?? 'HEAD', path, MAX_PIPELINE_BYTES).catch(() => undefined);
    })();
    const commit = await this.resolveCommit(project, ref, null);
    const guess = await speculative;
    if (guess && guess.commitSha === commit.commitSha) return { commit, content: guess.content };
    return { commit, content: await this.readPipeline(project, commit, path) };
  }

  /** A pipeline file's content at a commit (fetched first if the mirror lacks it); 422 when the commit has no such file. */
  async readPipeline(project: Project, commit: ResolvedCommit, path: string): Promise<string> {
    const repository = requireRepository(project);
    const problem = pipelinePathProblem(path);
    if (problem) throw badRequest(`Pipeline ${problem}.`, 'invalid_path');
    const read = (): Promise<string | undefined> => this.git(repository, () => this.mirrors.readFile(repository.url, commit.commitSha, path, MAX_PIPELINE_BYTES));
    let content = (await this.mirrors.hasMirror(repository.url)) ? await read() : undefined;
    if (content === undefined && !(await this.mirrors.hasCommit(repository.url, commit.commitSha))) {
      const auth = await this.auth(project, repository);
      const found = await this.git(repository, () => this.mirrors.ensureCommit(repository.url, commit.commitSha, { auth }));
      if (!found) throw unprocessable(`Commit ${commit.commitSha} is not in repository ${displayUrl(repository.url)}.`, 'unknown_commit');
      content = await read();
    }
    if (content === undefined) {
      throw unprocessable(`File ${path} does not exist at commit ${commit.commitSha.slice(0, 12)} (${commit.ref}) of repository ${displayUrl(repository.url)}.`, 'pipeline_file_missing');
    }
    return content;
  }

  /** The pipeline files under .bellows/ on the default branch, for the project page. */
  async pipelineFiles(project: Project): Promise<{ ref: string; commitSha: string; files: PipelineFile[] }> {
    const repository = requireRepository(project);
    await this.listRefs(project, repository);
    const ref = await this.defaultBranch(repository);
    const resolved = ref ? await this.git(repository, () => this.mirrors.resolve(repository.url, ref)) : undefined;
    if (!ref || !resolved) return { ref: ref ?? '', commitSha: '', files: [] };
    const paths = await this.git(repository, () => this.mirrors.listFiles(repository.url, resolved.commitSha, PIPELINE_DIR));
    const files = paths.filter((path) => /\.(act|sh|bash)$/.test(path)).map((path): PipelineFile => ({ path, kind: path.endsWith('.act') ? 'act' : 'script' }));
    return { ref, commitSha: resolved.commitSha, files };
  }

  /** The credentials the checkout of a job needs (sent with its claim), or undefined when none are configured. */
  async checkoutAuth(project: Project): Promise<GitAuth | undefined> {
    const repository = requireRepository(project);
    return this.auth(project, repository);
  }

  private async listRefs(project: Project, repository: RepositoryConfig): Promise<MirrorRef[]> {
    const auth = await this.auth(project, repository);
    await this.git(repository, () => this.mirrors.sync(repository.url, { auth, maxAgeMs: REF_LIST_MAX_AGE_MS }));
    return this.git(repository, () => this.mirrors.refs(repository.url));
  }

  private async defaultBranch(repository: RepositoryConfig): Promise<string | null> {
    return repository.defaultBranch ?? (await this.mirrors.defaultBranch(repository.url)) ?? null;
  }

  private async auth(project: Project, repository: RepositoryConfig): Promise<GitAuth | undefined> {
    if (repository.credentialsSecret === null) return undefined;
    const secret = await this.secrets.revealOne(project.id, repository.credentialsSecret);
    if (secret === undefined) {
      throw unprocessable(`The repository's credentials secret ${repository.credentialsSecret} is not set in project ${project.slug}; create it or change repository.credentialsSecret.`, 'credentials_missing');
    }
    return credentialsFor(repository.url, secret);
  }

  /** Git's failures as API errors that name the repository and git's reason (credentials redacted by git.ts). */
  private async git<T>(repository: RepositoryConfig, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (!(error instanceof GitError)) throw error;
      const where = `repository ${displayUrl(repository.url)}`;
      if (error.kind === 'auth') throw new ApiError(422, 'repository_auth_failed', `Cannot read ${where}: ${error.reason}.`);
      throw new ApiError(502, 'repository_unreachable', `Cannot read ${where}: ${error.reason}.`);
    }
  }
}

function requireRepository(project: Project): RepositoryConfig {
  if (!project.repository) throw unprocessable(`Project ${project.slug} has no repository; set one with PATCH /api/v1/projects/${project.slug} {repository: {url}}.`, 'no_repository');
  return project.repository;
}
