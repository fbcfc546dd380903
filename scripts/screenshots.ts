// Re-takes the Temporal UI screenshots in docs/operations.md from a running `npm run demo`, with Debian's chromium
// (apt-get install chromium) driven by playwright-core, which downloads no browser of its own.
// usage: npm run screenshots -- <customer awaiting resubmission> <verified customer>
import { join } from 'node:path';

import { chromium } from 'playwright-core';

const ui = process.env.TEMPORAL_UI_URL ?? 'http://127.0.0.1:8233';
const [waiting, verified] = process.argv.slice(2);
if (!waiting || !verified) {
  console.error('usage: npm run screenshots -- <customer awaiting resubmission> <verified customer>');
  process.exit(2);
}
const workflows = `${ui}/namespaces/default/workflows`;
/** name, URL, viewport height, and the tab to open first. */
const shots: [string, string, number, string?][] = [
  ['list-by-status', `${workflows}?query=${encodeURIComponent('KycStatus="SOFT_KYC_FAILED"')}`, 600],
  ['list-by-customer', `${workflows}?query=${encodeURIComponent(`KycCustomerId="${verified}"`)}`, 600],
  ['waiting-for-documents', `${workflows}/kyc-verification-${waiting}`, 1300],
  ['waiting-for-documents-details', `${workflows}/kyc-verification-${waiting}`, 900, 'User Metadata'],
  ['verified-history', `${workflows}/kyc-verification-${verified}`, 1500],
  // The demo encrypts: these pages read through its codec server. (`without-codec-server.png` is taken by hand,
  // with the codec server stopped.)
  ['decoded-through-codec-server', `${workflows}/kyc-verification-${waiting}`, 1750, 'Workflow Execution Signaled'],
];
const out = join(import.meta.dirname, '..', 'docs', 'screenshots');

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  // Keeps Chromium off the network this machine cannot reach.
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--disable-background-networking', '--disable-sync'],
});
try {
  for (const [name, url, height, tab] of shots) {
    const page = await browser.newPage({ viewport: { width: 1440, height } });
    await page.goto(url, { waitUntil: 'load' });
    // The UI is a single-page app that keeps polling: wait for its data, not for network idle.
    await page.waitForTimeout(4000);
    if (tab) {
      await page.getByText(tab, { exact: true }).first().click();
      await page.waitForTimeout(2000);
    }
    await page.screenshot({ path: join(out, `${name}.png`) });
    await page.close();
    console.log(`docs/screenshots/${name}.png <- ${url}`);
  }
} finally {
  await browser.close();
}
