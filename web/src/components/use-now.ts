import { useEffect, useState } from 'react';

/**
 * The current time, re-rendering every `intervalMs` while something on screen is live (a running
 * item's duration, a relative time). `null` stops the timer so settled pages do not re-render.
 */
export function useNow(intervalMs: number | null): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (intervalMs === null) return;
    setNow(Date.now());
    const timer = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(timer);
  }, [intervalMs]);
  // Without a timer the last tick may be long gone; a render caused by new data should still read the clock.
  return intervalMs === null ? Date.now() : now;
}

/** How often relative times ("12s ago") need redrawing: every second while any is under a minute old. */
export function agoInterval(isos: (string | null | undefined)[], now = Date.now()): number {
  return isos.some((iso) => iso && now - new Date(iso).getTime() < 60_000) ? 1000 : 30_000;
}
