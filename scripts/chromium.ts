// Debian's Chromium, driven by playwright-core (no browser download), for the browser tests and
// the bench's browser measurement alike.

export const CHROMIUM = process.env.BELLOWS_CHROMIUM ?? '/usr/bin/chromium';

// No sandbox as root; nothing reaching out to the network (this machine's closed network refuses
// Chromium's background connections, many at a time).
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
