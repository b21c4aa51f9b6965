import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BackendError, ENGINE_TIMEOUT, HttpBackend, UNREACHABLE, isLoopbackUrl } from '../../src/lib/api';
import { launchSecret } from '../../src/lib/api/http';

// A real HTTP server on 127.0.0.1:0 standing for the engine's transport contract:
// POST /api/{command}, JSON in, JSON out, errors as {code, message} with a 4xx/5xx status.
let server: Server;
let base = '';
const seen: { method?: string; url?: string; type?: string; secret?: string | string[]; body: string }[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      seen.push({ method: req.method, url: req.url, type: req.headers['content-type'], secret: req.headers['x-till-secret'], body });
      res.setHeader('content-type', 'application/json');
      if (req.url === '/api/product_by_barcode') {
        res.statusCode = 404;
        res.end(JSON.stringify({ code: 'unknown_barcode', message: 'no product has barcode 123: scan again', approval: null, input_error: true }));
      } else if (req.url === '/api/sell') {
        return; // never answers
      } else if (req.url === '/api/open_drawer') {
        res.statusCode = 403;
        res.end(JSON.stringify({ code: 'approval_required', message: 'needs a manager', approval: 'drawer_open_without_sale', input_error: true }));
      } else {
        res.end(JSON.stringify({ session: null }));
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => {
  server.closeAllConnections();
  return new Promise<void>((r) => server.close(() => r()));
});

describe('HttpBackend', () => {
  it('posts the request as JSON to /api/{command} and answers the JSON body', async () => {
    const backend = new HttpBackend(base + '/');
    expect(await backend.call('session', {})).toEqual({ session: null });
    expect(seen.at(-1)).toEqual({ method: 'POST', url: '/api/session', type: 'application/json', body: '{}' });
  });

  it('sends the launch secret the served page carries with every command', async () => {
    const page = { querySelector: (q: string) => (q === 'meta[name="till-secret"]' ? { getAttribute: () => 'f00d' } : null) };
    const secret = launchSecret(page as unknown as Document);
    expect(secret).toBe('f00d');
    await new HttpBackend(base, 45_000, secret).call('session', {});
    expect(seen.at(-1)).toMatchObject({ url: '/api/session', type: 'application/json', secret: 'f00d' });
    expect(launchSecret(undefined)).toBe('');
  });

  it('takes another engine from a link only on this machine, so a link cannot send PINs elsewhere', () => {
    expect(isLoopbackUrl('http://127.0.0.1:8787')).toBe(true);
    expect(isLoopbackUrl('http://localhost:8787/')).toBe(true);
    expect(isLoopbackUrl('http://[::1]:8787')).toBe(true);
    expect(isLoopbackUrl('https://evil.example')).toBe(false);
    expect(isLoopbackUrl('http://127.0.0.1.evil.example:8787')).toBe(false);
    expect(isLoopbackUrl('not a url')).toBe(false);
  });

  it('turns an error answer into a BackendError with its code and message', async () => {
    const backend = new HttpBackend(base);
    const error = await backend.call('product_by_barcode', { barcode: '123' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendError);
    expect(error).toMatchObject({ code: 'unknown_barcode', message: 'no product has barcode 123: scan again', inputError: true });
  });

  it('carries the action a manager must approve', async () => {
    const error = await new HttpBackend(base).call('open_drawer', {}).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'approval_required', approval: 'drawer_open_without_sale' });
  });

  it('gives up on an engine that never answers, saying to check before retrying', async () => {
    const backend = new HttpBackend(base, 300);
    const error = await backend.call('sell', { cart: { lines: [], approvals: [] }, tenders: [] }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: ENGINE_TIMEOUT });
    expect((error as Error).message).toMatch(/vérifiez/);
  });

  it('says the engine is unreachable, and what to do, when nothing listens', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const error = await new HttpBackend(`http://127.0.0.1:${port}`).call('session', {}).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: UNREACHABLE });
    expect((error as Error).message).toMatch(/réessayez/);
  });
});
