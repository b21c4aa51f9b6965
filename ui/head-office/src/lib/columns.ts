/** Table columns for sales rows, shared by the period and drill-down screens. */
import type { Column } from './table';
import { formatMoney, parseAmount } from '../../../src/lib/money';
import { locale, t, type MessageKey } from './i18n';
import type { SalesLine } from './types';

export function salesColumns(keyLabel: MessageKey, link?: (row: SalesLine) => string): Column<SalesLine>[] {
  return [
    { id: 'key', label: t(keyLabel), sort: (r) => r.key, show: (r) => r.key, link },
    { id: 'tickets', label: t('col.tickets'), sort: (r) => r.tickets, show: (r) => String(r.tickets), numeric: true },
    { id: 'quantity', label: t('col.quantity'), sort: (r) => r.quantity, show: (r) => String(r.quantity), numeric: true },
    { id: 'amount', label: t('col.amount'), sort: (r) => parseAmount(r.amount), show: (r) => formatMoney(r.amount, locale()), numeric: true },
    { id: 'excl', label: t('col.excl'), sort: (r) => parseAmount(r.excluding_vat), show: (r) => formatMoney(r.excluding_vat, locale()), numeric: true },
  ];
}

export function withPrevious(columns: Column<SalesLine>[]): Column<SalesLine>[] {
  return [
    ...columns,
    {
      id: 'previous',
      label: t('col.previous'),
      sort: (r) => parseAmount(r.previous?.amount ?? '0'),
      show: (r) => formatMoney(r.previous?.amount ?? '0', locale()),
      numeric: true,
    },
  ];
}

/** Euros as a float, for drawing a chart only. */
export const plotted = (amount: string): number => Number(parseAmount(amount)) / 100;
