/**
 * Head office's reports beyond sales: seller commissions (the month's report, the plan) and
 * the downloads (sales tables, payroll files, FEC, hledger). Downloads are plain links to the
 * server's export routes: the browser sends the session cookie on a same-origin navigation,
 * and the server writes the file (CSV, or XLSX with rust_xlsxwriter), so the file holds the
 * figures of the API answer the screen shows.
 */
import { call, query } from './api';
import type { SalesParams } from './api';

export type RateTarget = 'category' | 'product';

export interface StoredRate {
  target: RateTarget;
  key: string;
  /** Percent, as a decimal string or number as the server wrote it. */
  percent: string;
  updated_by: string;
  updated_at: string;
}

export interface CommissionLine {
  shop: string;
  till: string;
  ticket: number;
  line: number;
  at: string;
  kind: 'sale' | 'return' | 'cancellation' | 'exchange';
  returned: boolean;
  seller: string;
  product_id: string;
  label: string;
  category: string;
  quantity: number;
  base: string;
  percent: string;
  commission: string;
}

export interface SellerMonth {
  shop: string;
  seller: string;
  base: string;
  earned: string;
  clawed_back: string;
  commission: string;
  lines: CommissionLine[];
}

export interface CommissionReport {
  month: string;
  sellers: SellerMonth[];
  unknown_sellers: SellerMonth[];
  total: string;
  without_seller: string;
}

export interface EntityInfo {
  id: string;
  name: string;
  siren: string;
  fiscal_year_start_month: number;
}

export type FileFormat = 'csv' | 'xlsx';

export const commissions = (month: string) =>
  call<CommissionReport>('GET', `/hq/commissions${query({ month })}`);
export const commissionPlan = () => call<StoredRate[]>('GET', '/hq/commissions/plan');
export const setCommissionRate = (target: RateTarget, key: string, percent: string) =>
  call<StoredRate[]>('PUT', '/hq/commissions/plan', { target, key, percent });
export const removeCommissionRate = (target: RateTarget, key: string) =>
  call<void>('DELETE', `/hq/commissions/plan${query({ target, key })}`);
export const entities = () => call<EntityInfo[]>('GET', '/hq/exports/entities');

/** The payroll file of a month. */
export const commissionsFile = (month: string, format: FileFormat) =>
  `/api/v1/hq/commissions/export${query({ month, format })}`;

/** A sales table (the answer of `sales(params)`) as a file. */
export const salesFile = (params: SalesParams, format: FileFormat) =>
  `/api/v1/hq/exports/sales${query({ ...params, format })}`;

export const fecFile = (entity: string, year: number) => `/api/v1/hq/exports/fec${query({ entity, year })}`;
export const hledgerFile = (entity: string, year: number) => `/api/v1/hq/exports/hledger${query({ entity, year })}`;
