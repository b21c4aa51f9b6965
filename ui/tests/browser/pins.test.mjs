// Browser test of PIN guessing: six wrong PINs lock PIN entry out, the cashier's right PIN is then
// refused on screen, and a manager, choosing his name, logs in and unlocks it from the settings.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CASHIER, MANAGER, eventually, launchBrowser } from './harness.mjs';
import { cartLines, compact, fr, login, scan, text, withTill as run } from './ui.mjs';

let browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});
const withTill = (options, body, name) => run(browser, options, body, name);

/** Types wrong PINs through `command` until PIN entry locks, waiting when asked; answers how many. */
async function guessUntilLocked(stack, command = 'login', request = { pin: '0000' }) {
  for (let tries = 1; tries <= 40; tries++) {
    const refusal = await stack.api(command, request).then(
      () => assert.fail('0000 is nobody’s PIN'),
      (e) => JSON.parse(e.message.slice(e.message.indexOf('{'))).code,
    );
    if (refusal === 'pin_locked') return tries;
    if (refusal === 'pin_wait') await new Promise((r) => setTimeout(r, 500));
  }
  assert.fail('PIN entry never locked');
}

describe('staff PINs', () => {
  it('locks PIN entry after six wrong PINs until a manager unlocks it', async (t) => {
    await withTill({}, async (stack, page) => {
      await guessUntilLocked(stack);
      const field = page.getByTestId('login-pin');
      await field.waitFor();
      await field.pressSequentially(CASHIER.pin);
      await field.press('Enter');
      await eventually(async () => /Trop de codes faux/.test(await text(page, 'login-error')), 'the lockout on screen');
      assert.match(await text(page, 'login-error'), /responsable/, 'the screen says who unlocks');

      // The manager chooses his name: his own PIN is not locked out.
      await page.getByTestId('login-staff').selectOption(MANAGER.id);
      await login(page, MANAGER.pin);
      await page.keyboard.press('F7');
      await page.getByTestId('settings-screen').waitFor();
      await page.getByTestId('unlock-pins').click();
      await eventually(async () => /till/.test(await text(page, 'unlock-pins-outcome')), 'the lockout lifted');
      await page.keyboard.press('F8');
      await page.getByTestId('login-staff').selectOption('');
      await login(page, CASHIER.pin);
    }, t.name);
  });

  it('still takes a named manager’s approval once approvals without a name are locked out', async (t) => {
    await withTill({}, async (stack, page) => {
      await login(page, CASHIER.pin);
      // A cashier hunting for the manager's PIN through approvals is stopped at the sixth.
      await guessUntilLocked(stack, 'approve', { pin: '0000', action: 'discount_above_limit' });

      await scan(page, stack.product('ACC-EAR-BT').barcode); // 79.00
      await cartLines(page, 1);
      await page.keyboard.press('Alt+R');
      const discount = page.getByTestId('edit-discount');
      await discount.fill('50');
      await discount.press('Enter');
      await eventually(async () => compact(await text(page, 'line-total')) === fr('39.50'), 'the discounted line');
      await page.keyboard.press('F9');
      const dialog = page.getByTestId('approval-dialog');
      await dialog.waitFor();
      const pin = page.getByTestId('approval-pin');
      await pin.pressSequentially(MANAGER.pin);
      await pin.press('Enter');
      await eventually(async () => /Trop de codes faux/.test(await dialog.innerText()), 'the lockout in the dialog');
      await page.getByTestId('approval-manager').selectOption(MANAGER.id);
      await pin.pressSequentially(MANAGER.pin);
      await pin.press('Enter');
      await page.getByTestId('payment-screen').waitFor();
    }, t.name);
  });
});
