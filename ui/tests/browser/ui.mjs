// Driving the cashier screens the way staff do: PIN on the keypad or keyboard, scanner bursts,
// F-keys and Alt shortcuts.
import assert from 'node:assert/strict';

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
