/**
 * The head-office API's answers the app reads, as sync-server/openapi.json describes them
 * (amounts are decimal strings, never floats).
 */
export type Role = 'admin' | 'accountant' | 'regional_manager' | 'shop_manager';

export interface User {
  id: string;
  name: string;
  role: Role;
  shop_id: string | null;
  region_id?: string | null;
}

export interface WebSession {
  user: User;
  expires_at?: string;
}

export type SalesDimension = 'shop' | 'region' | 'day' | 'product' | 'category' | 'seller' | 'tender';

export interface SalesFigures {
  tickets: number;
  quantity: number;
  amount: string;
  excluding_vat: string;
}

export interface SalesLine extends SalesFigures {
  key: string;
  previous?: SalesFigures;
  difference?: SalesFigures;
}

export interface SalesAnswer {
  by: string;
  rows: SalesLine[];
  total: string;
  excluding_vat: string;
  comparison?: { from: string; to: string; total: string; excluding_vat: string; difference: string };
}

export interface TicketSummary {
  till_id: string;
  number: number;
  at: string;
  kind: string | null;
  total: string | null;
  customer: string | null;
  web_order: string | null;
  hash: string;
}

export interface TicketPage {
  shop: string;
  day: string;
  tickets: TicketSummary[];
  next: string | null;
}

export interface TicketLine {
  product_id?: string;
  label?: string;
  quantity?: unknown;
  unit_price?: string;
  total?: string;
  vat_rate?: string;
  seller?: string | null;
  [key: string]: unknown;
}

export interface TicketBody {
  kind?: string;
  lines?: TicketLine[];
  vat?: { rate?: string; excluding_vat?: string; vat?: string; including_vat?: string }[];
  tenders?: { kind?: string; amount?: string }[];
  change?: string;
  total?: string;
  customer?: string | null;
  [key: string]: unknown;
}

export interface TicketDetail {
  till_id: string;
  shop_id: string;
  number: number;
  at: string;
  tz: string | null;
  operator: string | null;
  software: string | null;
  received_at: string;
  hash: string;
  prev: string | null;
  ticket: TicketBody | null;
  signature: {
    verified_at_ingest: boolean;
    verified_now: boolean;
    public_key: string | null;
    problems: string[];
  };
}

export interface TillStatus {
  till_id: string;
  shop_id: string;
  name: string;
  enrolled: boolean;
  software: string | null;
  last_contact_at: string | null;
  held: Record<string, number>;
  records_held: number;
  alarms: number;
  last_alarm_at: string | null;
  clock_skew_ms: number | null;
  /** Past local days (YYYY-MM-DD, oldest first) the till sold on with no Z at head office. */
  days_without_z: string[];
}

export interface Alarm {
  id: number;
  till_id: string;
  shop_id: string;
  chain: string;
  seq: number;
  kind: string;
  reason: string;
  received_hash: string;
  raised_at: string;
}

export interface WebOrder {
  id: string;
  shop: string;
  lines: { product_id: string; label: string; quantity: number; unit_price: string }[];
  payment: string;
  total: string;
  customer: string | null;
  reference: string | null;
  state: string;
  placed_at: string;
}
