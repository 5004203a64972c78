// Replaces every secret value in a text with ***, longest values first so a secret that
// contains another is masked whole. Values under 3 characters would mask ordinary text.
export function maskSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of [...secrets].filter((s) => s.length >= 3).sort((a, b) => b.length - a.length)) {
    if (out.includes(secret)) out = out.split(secret).join('***');
  }
  return out;
}
