/**
 * The sale in progress: the cart as the cashier builds it, the engine's quote of it, and the
 * tenders taken at payment. The cart and the tenders are sent whole to `quote` after each
 * change, so the amount due, the amount tendered and the change on screen are always the
 * engine's (`pos_domain::tender::settlement`): the screen never computes them itself, and shows
 * none (nor records) until the answer for the tenders as they stand has arrived.
 *
 * An exchange is the same cart with `exchange` set: the lines of an earlier ticket coming back
 * (chosen on the returns screen) ride along, the cart holds the new items, the engine's
 * `exchange_quote` prices both, and the total is the difference to pay or to refund.
 */
import type {
  Cart,
  CartLine as ApiCartLine,
  CustomerView,
  DiscountInput,
  PickedLineInput,
  ExchangeQuote,
  ExchangeRequest,
  ProductView,
  Quote,
  QuoteRequest,
  RefundTo,
  ReturnLineInput,
  SaleResult,
  TenderInput,
  WebOrderPickRequest,
} from './api/generated/api';
import { app } from './app.svelte';
import { engineMessage } from './errors';
import { parseAmount, toApiAmount } from './money';
import { cartTotal, missingSerials, type CartLine, type TenderKind } from './cart';

/** The returned side of an exchange, as chosen on the returns screen. */
export interface ExchangeContext {
  original: number;
  returned: ReturnLineInput[];
  byReceipt: boolean;
  /** What the returned lines are refunded (negative), from the engine's return quote. */
  returnedTotal: string;
  /** The returned lines as shown (label, quantity, amount). */
  returnedLines: { label: string; quantity: string; total: string }[];
}

/** A tender taken at payment, before the sale is recorded. */
export interface Tender {
  kind: TenderKind;
  amount: bigint;
  reference?: string;
  /** The approved card payment this tender stands for. */
  paymentId?: string;
}

/** The engine's settlement of the tenders taken so far, as its quote answered it. */
export interface Figures {
  tendered: bigint;
  /** Still to pay (0 once covered). */
  due: bigint;
  /** Cash handed back. */
  change: bigint;
}

/** Figures with the request they answer: they stand only while that request is still current. */
interface AnsweredFigures extends Figures {
  request: string;
}

let nextKey = 1;

export const sale = $state<{
  lines: CartLine[];
  selected: number;
  ticketDiscount: DiscountInput | null;
  /** The customer the ticket will name (by id), shown on the cart. */
  customer: CustomerView | null;
  approvals: string[];
  quote: Quote | null;
  tenders: Tender[];
  last: SaleResult | null;
  /** A click & collect order being paid for at pickup, instead of the cart. */
  webOrder: WebOrderPayment | null;
  exchange: ExchangeContext | null;
  exchangeQuote: ExchangeQuote | null;
  /** The engine's amount due and change, for the request they answered. */
  answered: AnsweredFigures | null;
}>({
  lines: [],
  selected: -1,
  ticketDiscount: null,
  customer: null,
  approvals: [],
  quote: null,
  tenders: [],
  last: null,
  webOrder: null,
  exchange: null,
  exchangeQuote: null,
  answered: null,
});

/** A web order to pay in the shop, handed over once its payment is covered. */
export interface WebOrderPayment {
  id: string;
  reference: string | null;
  pickupCode: string;
  /** What the customer takes; undefined: the whole order. */
  lines?: PickedLineInput[];
  /** What the lines taken cost, from the engine's `web_order_quote`. */
  amountDue: string;
}

export function lineFromProduct(product: ProductView): CartLine {
  return {
    key: `l${nextKey++}`,
    productId: product.id,
    label: product.label,
    category: product.category,
    unitPrice: product.price,
    soldBy: product.sold_by,
    quantity: product.sold_by === 'weight' ? 1000 : 1,
    serials: [],
    needsSerial: product.serial === 'imei',
  };
}

/** Adds a product: one more unit on the last line of the same product, else a new line. */
export function addProduct(product: ProductView): void {
  const last = sale.lines.at(-1);
  if (
    last &&
    last.productId === product.id &&
    product.sold_by === 'unit' &&
    !last.discount &&
    !last.priceOverride &&
    !last.seller
  ) {
    last.quantity += 1;
    sale.selected = sale.lines.length - 1;
  } else {
    sale.lines.push(lineFromProduct(product));
    sale.selected = sale.lines.length - 1;
  }
}

export function toApiLine(line: CartLine): ApiCartLine {
  const out: ApiCartLine = { product_id: line.productId, serials: [...line.serials] };
  if (line.soldBy === 'weight') out.grams = line.quantity;
  else out.quantity = line.quantity;
  if (line.priceOverride) out.unit_price = toApiAmount(parseAmount(line.priceOverride));
  if (line.discount) {
    out.discount =
      'percent' in line.discount
        ? { percent: line.discount.percent.replace(',', '.') }
        : { amount: toApiAmount(parseAmount(line.discount.amount)) };
  }
  if (line.seller) out.seller = line.seller;
  return out;
}

export function toApiCart(): Cart {
  const cart: Cart = { lines: sale.lines.map(toApiLine), approvals: [...sale.approvals] };
  if (sale.ticketDiscount) cart.discount = sale.ticketDiscount;
  if (sale.customer) cart.customer = sale.customer.id;
  return cart;
}

export function toApiTenders(): TenderInput[] {
  return sale.tenders.map((t) => {
    const out: TenderInput = { kind: t.kind, amount: toApiAmount(t.amount) };
    if (t.reference) out.reference = t.reference;
    if (t.paymentId) out.payment_id = t.paymentId;
    return out;
  });
}

/**
 * The total to show: a web order's amount due when one is being paid for at pickup, else the
 * engine's quote when current, else the cart's own sum (less what comes back, in an
 * exchange). In an exchange it is the difference, negative when the customer gets money back.
 */
export function total(): bigint {
  if (sale.webOrder) return parseAmount(sale.webOrder.amountDue);
  if (sale.quote) return parseAmount(sale.quote.total);
  const back = sale.exchange ? parseAmount(sale.exchange.returnedTotal) : 0n;
  return cartTotal(sale.lines) + back;
}

/** The exchange request for the cart as it stands (`null` outside an exchange). */
export function exchangeRequest(refundTo: RefundTo = 'original', approvals: string[] = []): ExchangeRequest | null {
  const ex = sale.exchange;
  if (!ex) return null;
  const cart = toApiCart();
  cart.approvals = [...(cart.approvals ?? []), ...approvals];
  return { original: ex.original, returned: ex.returned, cart, refund_to: refundTo, by_receipt: ex.byReceipt };
}

/** An exchange's quote as the cart shows it: the new lines only, the difference as total. */
function cartQuote(q: ExchangeQuote): Quote {
  return {
    lines: q.lines.filter((l) => l.original_line === null),
    vat: q.vat,
    ticket_discount: '0.00',
    total: q.total,
    tendered: q.tendered,
    amount_due: q.amount_due,
    change: q.change,
    approvals_needed: q.approvals_needed,
  };
}

/** The quote that prices what is being paid, with the tenders taken so far. */
type QuoteAsked =
  | { command: 'quote'; request: QuoteRequest }
  | { command: 'exchange_quote'; request: ExchangeRequest }
  | { command: 'web_order_quote'; request: WebOrderPickRequest };

function quoteAsked(): QuoteAsked | null {
  const tenders = toApiTenders();
  const order = sale.webOrder;
  if (order) {
    return { command: 'web_order_quote', request: { order: order.id, ...(order.lines ? { lines: order.lines } : {}), tenders } };
  }
  if (sale.lines.length === 0) return null;
  const exchange = exchangeRequest();
  if (exchange) return { command: 'exchange_quote', request: { ...exchange, tenders } };
  return { command: 'quote', request: { cart: toApiCart(), tenders } };
}

const keyOf = (asked: QuoteAsked | null) => JSON.stringify(asked);

/**
 * The engine's amount due, tendered and change for the sale and tenders as they stand now, or
 * `null` while that answer has not arrived (a tender or the cart changed since the last one):
 * the payment screen shows nothing it computed itself and records nothing before it.
 */
export function figures(): Figures | null {
  const answered = sale.answered;
  if (!answered || answered.request !== keyOf(quoteAsked())) return null;
  return { tendered: answered.tendered, due: answered.due, change: answered.change };
}

function answer(asked: QuoteAsked, q: { tendered: string; amount_due: string; change: string }): void {
  sale.answered = {
    request: keyOf(asked),
    tendered: parseAmount(q.tendered),
    due: parseAmount(q.amount_due),
    change: parseAmount(q.change),
  };
}

let quoteSeq = 0;

/**
 * Asks the engine to price the cart (or the web order being paid for) with the tenders taken so
 * far; a stale answer (the cart or the tenders changed since) is dropped.
 */
export async function requote(): Promise<void> {
  const seq = ++quoteSeq;
  const asked = quoteAsked();
  if (!asked) {
    sale.quote = null;
    sale.exchangeQuote = null;
    sale.answered = null;
    return;
  }
  try {
    let quote: Quote | null = null;
    if (asked.command === 'web_order_quote') {
      const q = await app.backend.call('web_order_quote', asked.request);
      if (seq === quoteSeq) answer(asked, q);
    } else if (asked.command === 'exchange_quote') {
      const q = await app.backend.call('exchange_quote', asked.request);
      if (seq === quoteSeq) {
        sale.exchangeQuote = q;
        answer(asked, q);
      }
      quote = cartQuote(q);
    } else {
      quote = await app.backend.call('quote', asked.request);
      if (seq === quoteSeq) answer(asked, quote);
    }
    if (seq === quoteSeq) {
      if (quote) sale.quote = quote;
      if (app.error?.code && app.error.code !== 'engine_unreachable') app.error = null;
    }
  } catch (e) {
    if (seq === quoteSeq) {
      if (!sale.webOrder) sale.quote = null;
      const err = e as { code?: string; message?: string };
      // While IMEIs are still being captured the line says so; the engine's refusal is noise.
      const capturing = sale.lines.some((l) => missingSerials(l) > 0) && (err.code ?? '').startsWith('serial');
      if (!capturing) {
        const code = err.code ?? 'unexpected';
        app.error = { code, message: engineMessage(code, err.message ?? String(e)) };
      }
    }
  }
}

export function addTender(kind: TenderKind, amount: bigint, extra: Partial<Tender> = {}): void {
  sale.tenders.push({ kind, amount, ...extra });
}

export function clearSale(): void {
  sale.lines = [];
  sale.selected = -1;
  sale.ticketDiscount = null;
  sale.customer = null;
  sale.approvals = [];
  sale.quote = null;
  sale.tenders = [];
  sale.webOrder = null;
  sale.exchange = null;
  sale.exchangeQuote = null;
  sale.answered = null;
}

/** Starts an exchange: the lines coming back are set, the (empty) cart takes the new items. */
export function startExchange(context: ExchangeContext): void {
  clearSale();
  sale.exchange = context;
}

/**
 * Rebuilds the cart from a parked one: each line's product from the catalog (its shelf price and
 * whether it needs IMEIs), then the engine's quote of the whole cart.
 */
export async function restoreCart(cart: Cart): Promise<void> {
  clearSale();
  const products = await Promise.all(
    cart.lines.map((l) =>
      l.product_id
        ? app.backend.call('product_by_id', { id: l.product_id })
        : app.backend.call('product_by_barcode', { barcode: l.barcode ?? '' }),
    ),
  );
  // A customer no longer known here (erased meanwhile) is left off rather than blocking the cart.
  const customer = cart.customer ? await app.backend.call('customer_get', { id: cart.customer }).catch(() => null) : null;
  if (cart.customer && !customer) cart = { ...cart, customer: undefined };
  let quote: Quote | null = null;
  try {
    quote = await app.backend.call('quote', { cart, tenders: [] });
  } catch {
    // Still resumable (IMEIs to capture, for one): the screen quotes again as it changes.
  }
  cart.lines.forEach((l, i) => {
    const product = products[i];
    const view = quote?.lines[i];
    sale.lines.push({
      key: `l${nextKey++}`,
      productId: product?.id ?? l.product_id ?? '?',
      label: product?.label ?? view?.label ?? '?',
      category: product?.category ?? '',
      unitPrice: product?.price ?? view?.unit_price ?? '0.00',
      soldBy: product?.sold_by ?? (l.grams != null ? 'weight' : 'unit'),
      quantity: l.grams ?? l.quantity ?? 1,
      ...(l.unit_price ? { priceOverride: l.unit_price } : {}),
      ...(l.discount ? { discount: 'percent' in l.discount ? { percent: l.discount.percent } : { amount: l.discount.amount } } : {}),
      ...(l.seller ? { seller: l.seller } : {}),
      serials: [...(l.serials ?? [])],
      needsSerial: product ? product.serial === 'imei' : (l.serials?.length ?? 0) > 0,
    });
  });
  sale.ticketDiscount = cart.discount ?? null;
  sale.customer = customer;
  sale.approvals = [...(cart.approvals ?? [])];
  sale.selected = sale.lines.length - 1;
  sale.quote = quote;
  // The amount due shown is the engine's answer for the cart as rebuilt here.
  if (quote) await requote();
}
