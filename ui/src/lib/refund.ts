/**
 * Refunds on the card: a `refund` payment started on the terminal and followed until the
 * terminal settles it. Shared by the returns screen and the payment screen of an exchange.
 */
import type { CardPayment, RefundTo } from './api/generated/api';
import { app, call } from './app.svelte';

/** Where a refund can go, with the Alt key that picks it. */
export const refundOptions: { to: RefundTo; key: string }[] = [
  { to: 'original', key: 'O' },
  { to: 'cash', key: 'E' },
  { to: 'store_credit', key: 'A' },
  { to: 'card', key: 'C' },
];

/**
 * Starts a card refund of `amount` ("12.50") and polls it while pending; `show` gets each
 * status for the screen. Answers the payment id once approved, else null (the status says why).
 */
export async function refundOnCard(amount: string, show: (payment: CardPayment) => void): Promise<string | null> {
  let card: CardPayment;
  try {
    card = await call('card_payment_start', { amount, kind: 'refund' });
  } catch {
    return null;
  }
  show(card);
  while (card.state === 'pending') {
    await new Promise((r) => setTimeout(r, 400));
    card = await app.backend.call('card_payment_status', { payment_id: card.payment_id });
    show(card);
  }
  return card.state === 'approved' ? card.payment_id : null;
}
