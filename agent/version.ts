// Reported at registration; a constant so the compiled agent needs no package.json next to it.
export const AGENT_VERSION = '0.1.0';
