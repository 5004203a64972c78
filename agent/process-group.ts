// Jobs run in their own process group (spawned detached), so one signal reaches the script and every
// background process it started, not just the bash leader.

export type GroupSignal = 'SIGTERM' | 'SIGKILL';

/** Signals the whole group; false when no member is left (or it is not ours to signal). */
export function signalGroup(pgid: number, signal: GroupSignal): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

/** Whether any process of the group still exists (zombies awaiting their reaper included). */
export function groupExists(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    // ESRCH: none left. EPERM: the id now belongs to someone else's processes, so not our job's group.
    return false;
  }
}
