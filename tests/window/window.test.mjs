// WebDriver smoke tests of the real cashier window: the Tauri app with its WebKitGTK webview,
// under Xvfb, driven through tauri-driver (started by scripts/test-window.sh). A cashier logs
// in with her PIN, scans an item, pays cash, and the receipt reaches the printer simulator's
// output directory. On the way the test saves screenshots of the main screens (docs/screenshots,
// shown in the README) and measures the cold start and the idle memory of the app and its
// WebKit processes (printed for BENCHMARKS.md).
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Key, remote } from 'webdriverio';
import { appProcesses, pssMiB } from './processes.mjs';
import { enrolledTill, startHeadOffice } from '../../ui/tests/browser/stack.mjs';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const app = process.env.CASHIER_APP ?? join(repo, 'target/debug/pos-cashier');
const screenshots = process.env.SCREENSHOTS_DIR ?? join(repo, 'docs/screenshots');
const driverPort = Number(process.env.TAURI_DRIVER_PORT ?? 4444);

/** The demo catalog's barcode of a product, by id (the fixture the demo ledger imports). */
function barcodeOf(id) {
  const csv = readFileSync(join(repo, 'crates/till/fixtures/demo-catalog.csv'), 'utf8');
  const line = csv.split('\n').find((l) => l.startsWith(`${id},`));
  assert.ok(line, `${id} is in the demo catalog`);
  return line.split(',')[1];
}

/** Polls `probe` until it returns a truthy value (30 s at most). */
async function eventually(probe, what) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const byTestId = (browser, id) => browser.$(`[data-testid="${id}"]`);

describe('the cashier window', () => {
  let browser;
  let dir;
  let receipts;
  let office;
  const timings = {};

  before(async () => {
    assert.ok(existsSync(app), `${app} is missing: build it with scripts/test-window.sh`);
    dir = mkdtempSync(join(tmpdir(), 'pos-window-'));
    receipts = join(dir, 'receipts');
    mkdirSync(screenshots, { recursive: true });
    // The till is enrolled with a head office holding two web orders for pickup, as `make run`.
    office = await startHeadOffice({
      webOrders: [
        {
          reference: 'WEB-1001',
          customer: 'Chloé Bernard',
          lines: ['ACC-COQ-IP16|Coque silicone iPhone 16|1|29.99', 'ACC-CBL-CC1|Câble USB-C vers USB-C 1 m|2|14.90'],
        },
        { reference: 'WEB-1002', customer: 'Karim Haddad', payment: 'pay-in-shop', lines: ['ACC-CHG-25W|Chargeur secteur USB-C 25 W|1|24.90'] },
      ],
    });
    enrolledTill(office, join(dir, 'till.db'));
    const started = performance.now();
    browser = await remote({
      hostname: '127.0.0.1',
      port: driverPort,
      logLevel: 'warn',
      connectionRetryTimeout: 60_000,
      capabilities: {
        // WebKitWebDriver speaks classic WebDriver only.
        'wdio:enforceWebDriverClassic': true,
        'tauri:options': {
          application: app,
          args: ['--db', join(dir, 'till.db'), '--printer', `sim:${receipts}`, '--terminal', 'sim:approve', '--sync-every', '5'],
        },
      },
    });
    await byTestId(browser, 'login-pin').waitForDisplayed({ timeout: 30_000 });
    timings.startToLogin = performance.now() - started;
  });

  after(async () => {
    if (browser) await browser.deleteSession();
    if (office) await office.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
    const report = Object.entries(timings)
      .map(([k, v]) => `${k}=${typeof v === 'number' ? v.toFixed(0) : v}`)
      .join(' ');
    console.log(`window measurements: ${report}`);
  });

  it('logs a cashier in, sells for cash and prints the receipt', async () => {
    await browser.saveScreenshot(join(screenshots, 'login.png'));
    const pin = await byTestId(browser, 'login-pin');
    await pin.click();
    const loginStarted = performance.now();
    await browser.keys(['1', '2', '3', '4', 'Enter']);
    await byTestId(browser, 'sale-screen').waitForDisplayed({ timeout: 10_000 });
    timings.loginToSale = performance.now() - loginStarted;
    timings.startToSale = timings.startToLogin + timings.loginToSale;

    // Barcodes typed into the search field and Enter, as a cashier does when a label will not
    // scan (WebDriver types too slowly for the scanner's burst detection; the browser tests
    // cover bursts). Element typing, since `keys` presses every key down before releasing any,
    // which drops repeated digits.
    const search = await byTestId(browser, 'sale-search');
    for (const [id, lines] of [['ACC-CBL-CC1', 1], ['ACC-COQ-IP16', 2]]) {
      await search.setValue(barcodeOf(id));
      await browser.keys(['Enter']);
      await eventually(async () => (await browser.$$('[data-testid="cart-line"]')).length === lines, `cart line ${lines}`);
    }
    const due = await byTestId(browser, 'amount-due').getText();
    assert.match(due.replace(/[\s\u00a0\u202f]/g, ''), /44,89€/, 'the amount due is shown');
    await browser.saveScreenshot(join(screenshots, 'sale.png'));

    await browser.keys(['F9']);
    await byTestId(browser, 'payment-screen').waitForDisplayed();
    await browser.saveScreenshot(join(screenshots, 'payment.png'));
    await browser.action('key').down(Key.Alt).down('e').up('e').up(Key.Alt).perform();
    const amount = await byTestId(browser, 'tender-amount');
    await amount.setValue('50');
    await browser.keys(['Enter']);
    await byTestId(browser, 'receipt-screen').waitForDisplayed();
    const change = await byTestId(browser, 'receipt-change').getText();
    assert.match(change.replace(/[\s\u00a0\u202f]/g, ''), /5,11€/, 'change from 50 EUR');
    await browser.saveScreenshot(join(screenshots, 'receipt.png'));

    const printed = await eventually(() => {
      if (!existsSync(receipts)) return null;
      return readdirSync(receipts)
        .filter((f) => /^receipt-\d+\.txt$/.test(f))
        .map((f) => readFileSync(join(receipts, f), 'utf8'))
        .find((r) => r.includes('TOTAL TTC'));
    }, 'the receipt in the printer simulator');
    assert.match(printed, /C.ble USB-C vers USB-C 1 m/, 'the printed receipt lists the cable');
    assert.match(printed, /44[.,]89/, 'and the total');
  });

  it('shows the returns, cash, click & collect and closure screens', async () => {
    for (const [key, testid, name] of [
      ['F2', 'returns-screen', 'returns.png'],
      ['F4', 'cash-screen', 'cash.png'],
      ['F5', 'collect-screen', 'collect.png'],
      ['F6', 'closures-screen', 'closures.png'],
    ]) {
      await browser.keys([key]);
      await byTestId(browser, testid).waitForDisplayed({ timeout: 10_000 });
      if (testid === 'collect-screen') {
        await eventually(async () => (await browser.$$('[data-testid="collect-order"]')).length === 2, 'the web orders to prepare');
        await browser.$('[data-testid="collect-order"]').click();
        await byTestId(browser, 'collect-detail').waitForDisplayed();
      }
      await browser.saveScreenshot(join(screenshots, name));
    }
    await browser.keys(['F1']);
    await byTestId(browser, 'sale-screen').waitForDisplayed();
  });

  it('measures the idle memory of the app and its WebKit processes', async () => {
    await new Promise((r) => setTimeout(r, 3000));
    const processes = appProcesses();
    assert.ok(processes.some((p) => p.comm === 'pos-cashier'), `the app runs: ${JSON.stringify(processes)}`);
    const byName = {};
    for (const p of processes) byName[p.comm] = (byName[p.comm] ?? 0) + pssMiB(p.pid);
    timings.pssMiB = Object.entries(byName)
      .map(([k, v]) => `${k}:${v.toFixed(0)}`)
      .join(',');
    timings.pssTotalMiB = Object.values(byName).reduce((a, b) => a + b, 0);
    if (process.env.WINDOW_REPORT) writeFileSync(process.env.WINDOW_REPORT, JSON.stringify(timings, null, 2));
  });
});
