// Browser tests of the devices in the app: the customer display simulator's screens through a
// sale, checked line by line, and a serial (non keyboard-wedge) scanner on a real
// pseudo-terminal feeding the sale screen.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { CASHIER, eventually, launchBrowser } from './harness.mjs';
import { cartLines, compact, fr, login, scan, tender, text, withTill as run } from './ui.mjs';

const withTill = (options, body, name) => run(browser, options, body, name);
let browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

/** Consecutive repeats removed: the display is sent the same screen again when a cart is
 * quoted twice, which the customer cannot tell apart. */
const changes = (screens) => screens.filter((s, i) => i === 0 || s !== screens[i - 1]);

/**
 * A scanner on a pseudo-terminal: a Python helper opens the pty pair, prints the slave's
 * path, and sends each line written to its standard input to the master as a scanner does
 * (the code, then CR LF).
 */
async function ptyScanner() {
  const helper = spawn('python3', ['-u', '-c', `
import os, pty, sys
master, slave = pty.openpty()
print(os.ttyname(slave), flush=True)
for line in sys.stdin:
    os.write(master, line.strip().encode() + b"\\r\\n")
`], { stdio: ['pipe', 'pipe', 'inherit'] });
  const path = await new Promise((resolve, reject) => {
    createInterface({ input: helper.stdout }).once('line', resolve);
    helper.once('exit', (code) => reject(new Error(`the pty helper exited (${code})`)));
  });
  return {
    uri: `serial://${path.trim()}`,
    send: (code) => helper.stdin.write(`${code}\n`),
    close: () => helper.kill(),
  };
}

describe('devices in the app', () => {
  it('shows each scanned line, the total, what was paid and the change on the customer display', async (t) => {
    await withTill({ display: true }, async (stack, page) => {
      await eventually(() => stack.displayed().length > 0, 'the idle message at start');
      await login(page, CASHIER.pin);
      await scan(page, stack.product('ACC-COQ-IP16').barcode); // 29.99
      await cartLines(page, 1);
      await eventually(async () => compact(await text(page, 'sale-total')) === `Total${fr('29.99')}`, 'the first quote');
      await scan(page, stack.product('ACC-CBL-CC1').barcode); // 14.90
      await cartLines(page, 2);
      await eventually(async () => compact(await text(page, 'sale-total')) === `Total${fr('44.89')}`, 'the second quote');
      // The display thread shows the newest screen queued (a slow display never holds a sale
      // up), so the customer is given the time to see the second line before the payment.
      await eventually(() => stack.displayed().at(-1)?.startsWith('Cable USB-C'), 'the second line on the display');
      await page.keyboard.press('F9');
      await page.getByTestId('payment-screen').waitFor();
      await tender(page, 'E', '50');
      await page.getByTestId('receipt-screen').waitFor();
      await eventually(() => stack.displayed().at(-1)?.startsWith('PAYE'), 'what was paid on the display');
      await page.getByTestId('logout').click();
      await eventually(() => changes(stack.displayed()).length >= 5, 'the idle message after the sale');
      const screens = changes(stack.displayed());
      assert.deepEqual(
        screens.slice(0, 5),
        [
          '     Bienvenue|   Boutique Test',
          'Coque silicone 29.99|TOTAL          29.99',
          'Cable USB-C ve 14.90|TOTAL          44.89',
          'PAYE           50.00|RENDU           5.11',
          '     Bienvenue|   Boutique Test',
        ],
        'the customer sees idle, each line over the total, paid and change, idle again',
      );
    }, t.name);
  });

  it('adds a product scanned by a serial scanner on a pseudo-terminal, like a keyboard-wedge scan', async (t) => {
    const scanner = await ptyScanner();
    try {
      await withTill({ scanner: scanner.uri }, async (stack, page) => {
        // The sale screen's first poll marks where its codes start: a code sent before its
        // answer would be taken as read before the screen opened.
        const firstPoll = page.waitForResponse((r) => r.url().endsWith('/api/scanned_codes'), { timeout: 30_000 });
        await login(page, CASHIER.pin);
        await eventually(async () => (await stack.api('devices')).scanner.ready, 'the serial scanner open');
        await firstPoll;
        scanner.send(stack.product('ACC-CBL-CC1').barcode);
        await cartLines(page, 1);
        await eventually(async () => compact(await text(page, 'sale-total')) === `Total${fr('14.90')}`, 'the line priced');
        scanner.send(stack.product('ACC-COQ-IP16').barcode);
        await cartLines(page, 2);
        await eventually(async () => compact(await text(page, 'sale-total')) === `Total${fr('44.89')}`, 'both lines priced');
      }, t.name);
    } finally {
      scanner.close();
    }
  });
});
