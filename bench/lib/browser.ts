// Debian's Chromium driven by playwright-core (no browser is downloaded): the HUD's benchmark and its
// browser tests (test/hud/browser.ts) launch it through this one function.
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/** Installed by `scripts/dev browser` (apt-get install chromium). */
export const CHROMIUM = '/usr/bin/chromium';

export function launchChromium(executablePath: string = CHROMIUM): Promise<Browser> {
  if (!existsSync(executablePath)) throw new Error(`${executablePath} is missing: run \`bash scripts/dev browser\` (apt-get install chromium)`);
  return chromium.launch({
    executablePath,
    headless: true,
    // --no-sandbox: the suite runs as root, where Chromium refuses its own sandbox. No background
    // traffic (component updates, safe browsing) and no /dev/shm (small in containers) either.
    args: ['--no-sandbox', '--disable-background-networking', '--disable-dev-shm-usage'],
  });
}
