import { join } from 'node:path';
import { Inject, Injectable } from '@nestjs/common';
import { ProjectMirrors, type GitMirrors } from '../../agent/git/git-mirror';
import { GitError, type GitAuth } from '../../agent/git/git';
import type { z } from 'zod';
import type { api } from '../../contract';
import type { RouteQuery } from '../../contract/http';
import { MAX_PIPELINE_CONTENT_LENGTH } from '../../contract/pipelines.contract';
import type { BranchList, GitRef, PipelineFiles, RefList } from '../../contract/repositories.contract';
import { ApiError, badRequest, unprocessable } from '../common/api-error';
import { CONFIG, type Config } from '../config/config';
import { isPipelineFile, kindOfPath } from '../pipelines/pipeline-spec';
import type { Project } from '../projects/projects.repository';
import { SecretsService } from '../secrets/secrets.service';
import { RepositoriesRepository } from './repositories.repository';
import { FULL_SHA, credentialsFor, credentialsProblem, displayUrl, pipelinePathProblem, refProblem, type RepositoryConfig } from './repository-spec';

/** Branch lists are cached this long: a page load or a Run dialog does not fetch each time. */
const REF_LIST_MAX_AGE_MS = 10_000;
/** Pipeline files are read whole; the same limit as a pushed pipeline's content. */
const MAX_PIPELINE_BYTES = MAX_PIPELINE_CONTENT_LENGTH;
/** Where a repository keeps pipelines to offer on the project page. */
export const PIPELINE_DIR = '.bellows';

/** What a run runs: its ref and commit, and for a repository pipeline the file's content at that commit. */
export type RunSource = { ref: string; commitSha: string; content: string | null };

/** One request's view of a project's repository: its mirror, and its credentials read at most once. */
type Access = { project: Project; repository: RepositoryConfig; url: string; mirrors: GitMirrors; auth(): Promise<GitAuth | undefined> };

export function noRepository(slug: string, consequence?: string): ApiError {
  return unprocessable(`Project ${slug} has no repository${consequence ? `, ${consequence}` : ''}; set one with PATCH /api/v1/projects/${slug} {repository: {url}}.`, 'no_repository');
}

/** The server side of project repositories: refs, commits and pipeline files, read from bare mirrors. */
@Injectable()
export class RepositoriesService {
  /**
   * Mirrors per project, never shared between projects even for the same URL: a mirror holds what the
   * project's credentials fetched, and another project must prove its own access to read any of it.
   */
  private readonly mirrors: ProjectMirrors;

  constructor(
    @Inject(CONFIG) config: Config,
    private readonly locks: RepositoriesRepository,
    private readonly secrets: SecretsService,
  ) {
    this.mirrors = new ProjectMirrors(join(config.dataDir, 'git-mirrors'), { lock: (key, work) => this.locks.withLock(key, work) });
  }

  async branches(project: Project): Promise<z.output<typeof BranchList>> {
    const access = this.open(project);
    const refs = await this.listRefs(access);
    return {
      defaultBranch: await this.defaultBranch(access),
      branches: refs.filter((ref) => ref.kind === 'branch').map(({ name, commitSha }) => ({ name, commitSha })),
    };
  }

  /** Branches and tags (or only one kind) whose name contains `q` (ignoring case), at most `limit`. */
  async refs(project: Project, { q, kind, limit }: RouteQuery<typeof api.repositories.refs>): Promise<z.output<typeof RefList>> {
    const needle = (q ?? '').toLowerCase();
    const refs = (await this.listRefs(this.open(project))).filter((ref) => (kind === undefined || ref.kind === kind) && ref.name.toLowerCase().includes(needle));
    return { refs: refs.slice(0, limit) };
  }

  /**
   * What a run of a pipeline runs (`path`: a repository pipeline's file; null: a stored pipeline). With
   * a reported commit (a push webhook's, or one the caller gave) that commit; otherwise what `ref`
   * (default: the default branch) names on the remote now. 422 names a ref, commit or file that does not
   * exist; git's failures name the repository and git's reason.
   */
  async runSource(project: Project, request: { ref?: string; commitSha?: string | null }, path: string | null): Promise<RunSource> {
    const access = this.open(project);
    if (request.ref !== undefined) {
      const problem = refProblem(request.ref);
      if (problem) throw unprocessable(`Ref ${problem}.`, 'invalid_ref');
    }
    if (path !== null) {
      const problem = pipelinePathProblem(path);
      if (problem) throw badRequest(`Pipeline ${problem}.`, 'invalid_path');
    }
    const reported = request.commitSha ?? null;
    if (reported !== null) {
      const commitSha = reported.toLowerCase();
      const ref = request.ref ?? (await this.defaultBranch(access)) ?? commitSha;
      // A stored pipeline reads nothing from the repository: a full commit id is taken as given (a webhook
      // answers without a fetch; a commit the repository lacks fails the checkout, saying so).
      if (path === null && FULL_SHA.test(commitSha)) return { ref, commitSha, content: null };
      const full = await this.reportedCommit(access, commitSha);
      return { ref, commitSha: full, content: path === null ? null : await this.readPipeline(access, { ref, commitSha: full }, path) };
    }
    return path === null ? { ...(await this.remoteCommit(access, request.ref)), content: null } : this.resolveAndRead(access, request.ref, path);
  }

  /** The pipeline files under .bellows/ on the default branch, for the project page. */
  async pipelineFiles(project: Project): Promise<z.output<typeof PipelineFiles>> {
    const access = this.open(project);
    const refs = await this.listRefs(access);
    const ref = await this.defaultBranch(access);
    const head = refs.find((candidate) => candidate.kind === 'branch' && candidate.name === ref);
    if (!ref || !head) return { ref: ref ?? '', commitSha: '', files: [] };
    const paths = await this.git(access, () => access.mirrors.listFiles(access.url, head.commitSha, PIPELINE_DIR));
    return { ref, commitSha: head.commitSha, files: paths.filter(isPipelineFile).map((path) => ({ path, kind: kindOfPath(path) })) };
  }

  private open(project: Project): Access {
    const repository = project.repository;
    if (!repository) throw noRepository(project.slug);
    const mirrors = this.mirrors.of(project.id);
    let auth: Promise<GitAuth | undefined> | undefined;
    return { project, repository, url: repository.url, mirrors, auth: () => (auth ??= this.auth(project, repository)) };
  }

  /** The full id of a commit given in full or abbreviated, fetched into the mirror if it lacks it. */
  private async reportedCommit(access: Access, commitSha: string): Promise<string> {
    const auth = await access.auth();
    const found = await this.git(access, () => access.mirrors.ensureCommit(access.url, commitSha, { auth }));
    const full = !found ? undefined : FULL_SHA.test(commitSha) ? commitSha : (await this.git(access, () => access.mirrors.resolve(access.url, commitSha)))?.commitSha;
    if (full === undefined) throw unprocessable(`Commit ${commitSha} is not in repository ${displayUrl(access.url)}.`, 'unknown_commit');
    return full;
  }

  /**
   * What `ref` (default: the default branch) names on the remote now: one round trip, nothing fetched; the
   * mirror catches up only when a file has to be read at a commit it does not have yet (readPipeline).
   */
  private async remoteCommit(access: Access, ref: string | undefined): Promise<{ ref: string; commitSha: string }> {
    const wanted = ref ?? access.repository.defaultBranch ?? undefined;
    const auth = await access.auth();
    const remote = await this.git(access, () => access.mirrors.remoteRef(access.url, wanted, { auth }));
    if (remote) return { ref: wanted ?? remote.name, commitSha: remote.commitSha };
    if (wanted === undefined) throw unprocessable(`Repository ${displayUrl(access.url)} has no default branch (is it empty?); give a ref.`, 'unknown_ref');
    // Not a branch or tag: perhaps a commit id.
    if (/^[0-9a-f]{7,64}$/i.test(wanted)) {
      await this.git(access, () => access.mirrors.sync(access.url, { auth, maxAgeMs: 0 }));
      const commit = await this.git(access, () => access.mirrors.resolve(access.url, wanted));
      if (commit) return { ref: wanted, commitSha: commit.commitSha };
    }
    throw unprocessable(`Ref "${wanted}" does not exist in repository ${displayUrl(access.url)}.`, 'unknown_ref');
  }

  /**
   * remoteCommit + readPipeline, overlapped: while the remote is asked what the ref names, the mirror's
   * own idea of the ref is read, and the file at that commit. When the remote agrees (no push since the
   * mirror's last fetch) that read is the answer; otherwise the file is read at the remote's commit. The
   * guess is one git process beside the remote's, so a trigger that finds the mirror current starts git
   * twice (~20 ms each from the API's process, one after the other).
   */
  private async resolveAndRead(access: Access, ref: string | undefined, path: string): Promise<RunSource> {
    const wanted = ref ?? access.repository.defaultBranch ?? 'HEAD';
    const speculative = (async () => {
      if (!(await access.mirrors.hasMirror(access.url))) return undefined;
      return access.mirrors.readAtRef(access.url, wanted, path, MAX_PIPELINE_BYTES).catch(() => undefined);
    })();
    const commit = await this.remoteCommit(access, ref);
    const guess = await speculative;
    if (guess && guess.commitSha === commit.commitSha) return { ...commit, content: guess.content };
    return { ...commit, content: await this.readPipeline(access, commit, path) };
  }

  /** A pipeline file's content at a commit (fetched first if the mirror lacks it); 422 when the commit has no such file. */
  private async readPipeline(access: Access, commit: { ref: string; commitSha: string }, path: string): Promise<string> {
    const read = (): Promise<string | undefined> => this.git(access, () => access.mirrors.readFile(access.url, commit.commitSha, path, MAX_PIPELINE_BYTES));
    let content = (await access.mirrors.hasMirror(access.url)) ? await read() : undefined;
    if (content === undefined) {
      const auth = await access.auth();
      // Finds the commit already there when only the file is missing; fetches otherwise.
      const found = await this.git(access, () => access.mirrors.ensureCommit(access.url, commit.commitSha, { auth }));
      if (!found) throw unprocessable(`Commit ${commit.commitSha} is not in repository ${displayUrl(access.url)}.`, 'unknown_commit');
      content = await read();
    }
    if (content === undefined) {
      throw unprocessable(`File ${path} does not exist at commit ${commit.commitSha.slice(0, 12)} (${commit.ref}) of repository ${displayUrl(access.url)}.`, 'pipeline_file_missing');
    }
    return content;
  }

  private async listRefs(access: Access): Promise<z.output<typeof GitRef>[]> {
    const auth = await access.auth();
    await this.git(access, () => access.mirrors.sync(access.url, { auth, maxAgeMs: REF_LIST_MAX_AGE_MS }));
    return this.git(access, () => access.mirrors.refs(access.url));
  }

  private async defaultBranch(access: Access): Promise<string | null> {
    return access.repository.defaultBranch ?? (await access.mirrors.defaultBranch(access.url)) ?? null;
  }

  private async auth(project: Project, repository: RepositoryConfig): Promise<GitAuth | undefined> {
    if (repository.credentialsSecret === null) return undefined;
    const secret = await this.secrets.revealOne(project.id, repository.credentialsSecret);
    if (secret === undefined) {
      throw unprocessable(`The repository's credentials secret ${repository.credentialsSecret} is not set in project ${project.slug}; create it or change repository.credentialsSecret.`, 'credentials_missing');
    }
    const problem = credentialsProblem(repository.url, secret);
    if (problem) throw unprocessable(`The repository's credentials secret ${repository.credentialsSecret} cannot be used: ${problem}.`, 'credentials_mismatch');
    return credentialsFor(repository.url, secret);
  }

  /** Git's failures as API errors that name the repository and git's reason (credentials redacted by git.ts). */
  private async git<T>(access: Access, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (!(error instanceof GitError)) throw error;
      const where = `repository ${displayUrl(access.url)}`;
      if (error.kind === 'auth') throw new ApiError(422, 'repository_auth_failed', `Cannot read ${where}: ${error.reason}.`);
      throw new ApiError(502, 'repository_unreachable', `Cannot read ${where}: ${error.reason}.`);
    }
  }
}
