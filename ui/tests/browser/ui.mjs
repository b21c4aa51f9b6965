// Driving the cashier screens the way staff do: PIN on the keypad or keyboard, scanner bursts,
// F-keys and Alt shortcuts.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { eventually, startStack, uiDir } from './harness.mjs';

const resultsDir = join(uiDir, 'test-results');

/**
 * The QR code printed on the original receipt of ticket `number`, as the simulator's text shows
 * it: what a scanner reads off the paper. The screen never shows it (only the paper the customer
 * took home proves the purchase).
 */
export async function printedQr(stack, number) {
  const ticket = new RegExp(`Ticket n° ${number}\\b`);
  const printed = await eventually(() => stack.printed().find((r) => ticket.test(r) && !/DUPLICATA/.test(r)), `the printed receipt of ticket ${number}`);
  return printed.match(/\[QR ([^\]]+)\]/)[1];
}

/** Money as shown, without its spaces (French uses no-break spaces): "1 234,50 €" -> "1234,50€". */
export const compact = (text) => text.replace(/[\s\u00a0\u202f]/g, '');
/** "12.50" (API) -> "12,50€" (compact French display). */
export const fr = (amount) => `${amount.replace('.', ',')}€`;
/** Cents -> "12.50". */
export const euros = (cents) => `${cents < 0 ? '-' : ''}${Math.trunc(Math.abs(cents) / 100)}.${String(Math.abs(cents) % 100).padStart(2, '0')}`;

export async function openTill(browser, url) {
  const page = await browser.newPage({ viewport: { width: 1366, height: 900 }, locale: 'fr-FR' });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e));
  await page.goto(url);
  page.pageErrors = errors;
  return page;
}

export async function login(page, pin) {
  const field = page.getByTestId('login-pin');
  await field.waitFor();
  await field.fill('');
  await field.pressSequentially(pin);
  await field.press('Enter');
  await page.getByTestId('sale-screen').waitFor();
}

/** Logs in by touching the on-screen keypad, digit by digit, then its OK key. */
export async function loginWithKeypad(page, pin) {
  const keypad = page.getByTestId('login-keypad');
  await keypad.waitFor();
  for (const digit of pin) await keypad.getByRole('button', { name: digit, exact: true }).click();
  await keypad.getByRole('button', { name: /Valider/ }).click();
  await page.getByTestId('sale-screen').waitFor();
}

/** A keyboard-wedge scanner: the code as a burst of keys a few ms apart, then Enter. */
export async function scan(page, code) {
  await page.keyboard.type(code);
  await page.keyboard.press('Enter');
}

export async function text(page, testid) {
  return (await page.getByTestId(testid).innerText()).trim();
}

/** Waits for the cart to hold `n` lines and the engine's total to be shown. */
export async function cartLines(page, n) {
  await page.waitForFunction((count) => document.querySelectorAll('[data-testid="cart-line"]').length === count, n);
}

/**
 * Chooses the tender with `altKey` on the payment screen, types `amount` (or keeps the amount
 * due the screen proposes when it is left out) and presses Enter.
 */
export async function tender(page, altKey, amount) {
  await page.keyboard.press(`Alt+${altKey}`);
  const field = page.getByTestId('tender-amount');
  if (amount !== undefined) await field.fill(amount);
  await field.press('Enter');
}

export function assertNoPageErrors(page) {
  assert.deepEqual(page.pageErrors.map(String), [], 'the page threw no uncaught error');
}

/**
 * Runs `body(stack, page)` on a fresh stack and a new page of `browser`, then stops both. On
 * failure the screen is saved to ui/test-results/ and its text added to the error.
 */
export async function withTill(browser, options, body, name = 'failure') {
  const stack = await startStack(options);
  const page = await openTill(browser, stack.url);
  try {
    await body(stack, page);
    assertNoPageErrors(page);
  } catch (e) {
    mkdirSync(resultsDir, { recursive: true });
    const file = join(resultsDir, `${name.replace(/\W+/g, '-')}.png`);
    await page.screenshot({ path: file, fullPage: true }).catch(() => {});
    const shown = await page.locator('body').innerText().catch(() => '');
    e.message += `\n-- screen (${file}):\n${shown.slice(0, 1500)}`;
    throw e;
  } finally {
    await page.close();
    await stack.stop();
  }
}

/** Records a cash sale of `barcodes` paying `given` (default: the amount due); answers the ticket number. */
export async function cashSale(page, barcodes, given) {
  for (const [i, code] of barcodes.entries()) {
    await scan(page, code);
    await cartLines(page, i + 1);
  }
  await page.keyboard.press('F9');
  await page.getByTestId('payment-screen').waitFor();
  const due = compact(await text(page, 'pay-due'));
  await tender(page, 'E', given);
  await page.getByTestId('receipt-screen').waitFor();
  const number = Number((await text(page, 'ticket-number')).match(/\d+/)[0]);
  return { number, due };
}
