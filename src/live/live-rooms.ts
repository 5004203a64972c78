import type { LiveRoom } from '../../contract/live.contract';

// Client room names (LiveRoom) are what a viewer asks for; the rooms sockets actually join can be
// narrower. A project-bound token asking for `runs` joins `runs@<projectId>`, so events of other
// projects never reach it, and every emission targets both forms.

export type ParsedRoom =
  | { kind: 'runs' | 'queue' | 'agents' | 'artifacts' }
  | { kind: 'run'; runId: number }
  | { kind: 'job'; jobId: number };

const ID = /^(run|job):([1-9][0-9]{0,15})$/;

/** The room a client named, or null for anything that is not a LiveRoom (internal names included). */
export function parseRoom(room: unknown): ParsedRoom | null {
  if (room === 'runs' || room === 'queue' || room === 'agents' || room === 'artifacts') return { kind: room };
  if (typeof room !== 'string') return null;
  const match = ID.exec(room);
  if (!match) return null;
  const id = Number(match[2]);
  if (!Number.isSafeInteger(id)) return null;
  return match[1] === 'run' ? { kind: 'run', runId: id } : { kind: 'job', jobId: id };
}

export const rooms = {
  runs: (projectId: string): string[] => ['runs', `runs@${projectId}`],
  artifacts: (projectId: string): string[] => ['artifacts', `artifacts@${projectId}`],
  run: (runId: number): LiveRoom => `run:${runId}`,
  job: (jobId: number): LiveRoom => `job:${jobId}`,
  queue: 'queue' as const,
  agents: 'agents' as const,
};

/** The room a socket joins for a client room; project-wide lists narrow to the token's project. */
export function joinedRoomFor(room: ParsedRoom, projectId: string | null): string {
  switch (room.kind) {
    case 'runs':
    case 'artifacts':
      return projectId === null ? room.kind : `${room.kind}@${projectId}`;
    case 'run':
      return rooms.run(room.runId);
    case 'job':
      return rooms.job(room.jobId);
    default:
      return room.kind;
  }
}
