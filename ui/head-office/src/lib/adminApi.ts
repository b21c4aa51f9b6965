/**
 * The admin HTTP API (`/api/v1/admin/...`, admins only), as the administration screens call
 * it: same origin, the session cookie, and the `x-pos-hq` header every state-changing
 * request needs. Errors are `ApiError`s with the server's code.
 */
import { ApiError, call } from './api';

const API = '/api/v1';

const enc = encodeURIComponent;

export interface RowError { line: number; reason: string }
export interface Imported { products: number; changed: number }
export interface CatalogRefusal { code: string; message: string; rows: RowError[] }
export interface Product {
  id: string;
  barcodes?: string[];
  label: string;
  category: string;
  vat_code: string;
  price: string;
  sold_by?: string;
  serial?: string;
  /** `not_kept` for services and fees: head office keeps no stock of them. */
  stock?: 'kept' | 'not_kept';
}
export interface ShopPrice { product_id: string; price: string }
export interface Promotion {
  id: string;
  label: string;
  starts: string;
  ends: string;
  products?: string[];
  categories?: string[];
  benefit: { percent_off: string } | { amount_off_each: string };
}
export interface ScopedPromotion { shop: string; promotion: Promotion }
export interface Region { id: string; name: string }
export interface Entity { id: string; name: string; siren: string; fiscal_year_start_month: number }
export interface Shop {
  id: string;
  entity_id: string;
  name: string;
  territory: string;
  timezone: string;
  address: string;
  region_id: string | null;
}
export interface Till {
  id: string;
  shop_id: string;
  name: string;
  enrolled: boolean;
  last_contact_at: string | null;
  revoked_at?: string | null;
}
export interface EnrollmentCode { till_id: string; shop_id: string; name: string; enrollment_code: string; expires_at: string }
export interface Staff { id: string; name: string; role: string }
export interface HqUser { id: string; name: string; role: string; shop_id: string | null; region_id?: string | null; disabled_at?: string | null }
/** A user after a change of their access: how many of their sessions and API tokens ended. */
export interface AccessChanged { user: HqUser; credentials_ended: number }
export interface AuditEntry {
  id: number;
  at: string;
  actor: string;
  action: string;
  target: string;
  before: unknown;
  after: unknown;
}
export interface WebhookStatus { id: string; url: string; types: string[]; pending: number; dead: number }
export interface DeadLetter { webhook_id: string; cursor: number; event_type: string; event_id: string; attempts: number; dead_at: string; last_error: string }

/** Why an import failed: the bad rows, or another error. */
export class CatalogRefused extends Error {
  constructor(readonly rows: RowError[], message: string) {
    super(message);
  }
}

/**
 * Uploads a catalog file as it is (the browser streams it), telling `onProgress` the share
 * sent (0 to 1) as it goes, then `null` while the server checks and applies it.
 */
export function importCatalog(file: File, onProgress: (sent: number | null) => void): Promise<Imported> {
  const format = file.name.toLowerCase().endsWith('.json') ? 'json' : 'csv';
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `${API}/admin/catalog/import?format=${format}&name=${enc(file.name)}`);
    xhr.setRequestHeader('x-pos-hq', '1');
    xhr.setRequestHeader('content-type', format === 'json' ? 'application/json' : 'text/csv');
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) onProgress(e.loaded / e.total);
    };
    xhr.upload.onload = () => onProgress(null);
    xhr.onerror = () => reject(new ApiError(0, 'network', 'the server could not be reached: check the connection and import again'));
    xhr.onload = () => {
      let body: unknown = null;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        // reported below
      }
      if (xhr.status === 200) return resolve(body as Imported);
      const error = (body ?? {}) as Partial<CatalogRefusal>;
      if (error.code === 'catalog_rows_invalid' && error.rows) return reject(new CatalogRefused(error.rows, error.message ?? ''));
      reject(new ApiError(xhr.status, error.code ?? 'http', error.message ?? `HTTP ${xhr.status}`));
    };
    xhr.send(file);
  });
}

export const product = (id: string) => call<Product>('GET', `/admin/catalog/products/${enc(id)}`);
export const putProduct = (p: Product) => call<{ changed: number }>('PUT', `/admin/catalog/products/${enc(p.id)}`, p);
export const removeProduct = (id: string) => call<{ changed: number }>('DELETE', `/admin/catalog/products/${enc(id)}`);
export const shopPrices = (shop: string) => call<ShopPrice[]>('GET', `/admin/shops/${enc(shop)}/prices`);
export const setPrice = (shop: string, productId: string, price: string) =>
  call<{ changed: number }>('PUT', `/admin/shops/${enc(shop)}/prices/${enc(productId)}`, { price });
export const removePrice = (shop: string, productId: string) =>
  call<{ changed: number }>('DELETE', `/admin/shops/${enc(shop)}/prices/${enc(productId)}`);

export const promotions = () => call<ScopedPromotion[]>('GET', '/admin/promotions');
export const setPromotion = (promotion: Promotion, shop?: string) =>
  call<ScopedPromotion>('POST', '/admin/promotions', shop ? { promotion, shop } : { promotion });
export const removePromotion = (id: string, shop: string) =>
  call<void>('DELETE', `/admin/promotions/${enc(id)}${shop === '*' ? '' : `?shop=${enc(shop)}`}`);

export const setVat = (body: { territory: string; code: string; rate: string; from: string; remove?: boolean }) =>
  call<{ changed: number }>('PUT', '/admin/vat', body);
export const setTender = (body: { shop?: string; kind: string; accepted: boolean; label?: string; max_amount?: string; reset?: boolean }) =>
  call<{ shops: string[] }>('PUT', '/admin/tenders', body);

export const entities = () => call<Entity[]>('GET', '/admin/entities');
export const regions = () => call<Region[]>('GET', '/admin/regions');
export const createRegion = (name: string, id?: string) => call<Region>('POST', '/admin/regions', id ? { id, name } : { name });
export const shops = () => call<Shop[]>('GET', '/admin/shops');
export const createShop = (shop: Shop) => call<Shop>('POST', '/admin/shops', shop);
export const setShopRegion = (shop: string, region: string | null) => call<void>('PUT', `/admin/shops/${enc(shop)}/region`, { region });

export const tills = () => call<Till[]>('GET', '/admin/tills');
export const createTill = (shop: string, name: string, id?: string) =>
  call<EnrollmentCode>('POST', '/admin/tills', id ? { shop, name, id } : { shop, name });
export const tillCode = (id: string) => call<EnrollmentCode>('POST', `/admin/tills/${enc(id)}/code`);
export const revokeTill = (id: string) => call<void>('POST', `/admin/tills/${enc(id)}/revoke`);

export const staff = (shop: string) => call<Staff[]>('GET', `/admin/shops/${enc(shop)}/staff`);
export const putStaff = (shop: string, id: string, name: string, role: string, pin: string) =>
  call<Staff>('PUT', `/admin/shops/${enc(shop)}/staff/${enc(id)}`, { name, role, pin });
export const resetPin = (shop: string, id: string, pin: string) =>
  call<void>('POST', `/admin/shops/${enc(shop)}/staff/${enc(id)}/pin`, { pin });
export const removeStaff = (shop: string, id: string) => call<{ changed: number }>('DELETE', `/admin/shops/${enc(shop)}/staff/${enc(id)}`);

export const users = () => call<HqUser[]>('GET', '/admin/users');
export const createUser = (body: { id?: string; name: string; role: string; shop?: string; region?: string }) =>
  call<{ user: HqUser; token: string; token_expires_at: string }>('POST', '/admin/users', body);
export const revokeUser = (id: string) => call<void>('POST', `/admin/users/${enc(id)}/revoke`);
export const setUserRole = (id: string, body: { role: string; shop?: string; region?: string }) =>
  call<AccessChanged>('PUT', `/admin/users/${enc(id)}/role`, body);
export const setUserDisabled = (id: string, disabled: boolean) =>
  call<AccessChanged>('POST', `/admin/users/${enc(id)}/${disabled ? 'disable' : 'enable'}`);

export const webhooks = () => call<WebhookStatus[]>('GET', '/hq/webhooks');
/** A webhook registered or given a new secret: the secret is shown this once. */
export interface WebhookSecret { id: string; url: string; types: string[]; secret: string }
export const addWebhook = (body: { id?: string; url: string; types: string[]; from_start: boolean }) =>
  call<WebhookSecret>('POST', '/hq/webhooks', body);
export const removeWebhook = (id: string) => call<void>('DELETE', `/hq/webhooks/${enc(id)}`);
export const rotateWebhookSecret = (id: string) => call<WebhookSecret>('POST', `/hq/webhooks/${enc(id)}/secret`);
export const deadLetters = () => call<DeadLetter[]>('GET', '/hq/webhooks/dead-letters?limit=500');
export const retryDeadLetters = (webhook?: string, cursor?: number) =>
  call<{ retried: number }>('POST', '/hq/webhooks/dead-letters/retry', { webhook: webhook ?? null, cursor: cursor ?? null });

export const audit = (before?: number) => call<AuditEntry[]>('GET', `/admin/audit?limit=200${before ? `&before=${before}` : ''}`);
