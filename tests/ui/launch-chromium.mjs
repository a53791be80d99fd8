// Debian's Chromium, headless, with the flags this machine's closed network
// needs (no background connections), in a fresh profile under `profile`.
import { chromium } from 'playwright-core';

export function launchChromium(profile) {
  return chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 800 },
  });
}
