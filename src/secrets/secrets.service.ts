import { Injectable } from '@nestjs/common';
import type { z } from 'zod';
import { SECRET_NAME, type SecretName } from '../../contract/secrets.contract';
import { badRequest, notFound } from '../common/api-error';
import { SecretBox } from './secret-box';
import { SecretsRepository } from './secrets.repository';

@Injectable()
export class SecretsService {
  constructor(
    private readonly secrets: SecretsRepository,
    private readonly box: SecretBox,
  ) {}

  async put(projectId: string, name: string, value: string): Promise<void> {
    if (!SECRET_NAME.test(name)) throw badRequest(`Secret name "${name}" must match ${SECRET_NAME.source}.`, 'invalid_secret_name');
    await this.secrets.upsert(projectId, name, this.box.seal(value));
  }

  listNames(projectId: string): Promise<z.output<typeof SecretName>[]> {
    return this.secrets.listNames(projectId);
  }

  async delete(projectId: string, name: string): Promise<void> {
    if (!(await this.secrets.delete(projectId, name))) throw notFound('secret', name);
  }

  /** One plain value (a repository's credentials), or undefined when the project has no such secret. */
  async revealOne(projectId: string, name: string): Promise<string | undefined> {
    const sealed = await this.secrets.findSealed(projectId, name);
    return sealed === undefined ? undefined : this.box.open(sealed);
  }

  /** Plain values, for the agent that runs a job of this project. */
  async reveal(projectId: string): Promise<Record<string, string>> {
    const sealed = await this.secrets.listSealed(projectId);
    return Object.fromEntries(sealed.map(({ name, ciphertext }) => [name, this.box.open(ciphertext)]));
  }
}
