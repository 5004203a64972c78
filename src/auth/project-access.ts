import { forbidden } from '../common/api-error';
import type { TokenPrincipal } from './principal';

// Project-bound tokens see and touch only their own project.
export function assertProjectAccess(principal: TokenPrincipal, project: { id: string; slug: string }): void {
  if (principal.projectId !== null && principal.projectId !== project.id) {
    throw forbidden(`This token is limited to another project and cannot access "${project.slug}".`);
  }
}
