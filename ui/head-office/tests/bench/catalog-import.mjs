// Benchmark: a 1,000,000-product catalog imported from the browser (the administration's
// catalog screen in Chromium) into a real `sync-server serve`, on SQLite or, with
// HQ_BACKEND=postgres, PostgreSQL (DATABASE_URL). Prints the time from the click to the
// screen saying it is applied, and checks that a progress indicator was on screen at every
// sample (every 250 ms) until then. Fails past 60 s.
//
//   node ui/head-office/tests/bench/catalog-import.mjs            # SQLite
//   HQ_BACKEND=postgres node ui/head-office/tests/bench/catalog-import.mjs
//   PRODUCTS=200000 node ui/head-office/tests/bench/catalog-import.mjs
import assert from 'node:assert/strict';
import { createWriteStream, statSync } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import { ADMIN, BACKEND, logIn, startChain } from '../browser/chain.mjs';

const PRODUCTS = Number(process.env.PRODUCTS ?? 1_000_000);
const LIMIT_MS = 60_000;

async function writeCatalog(file) {
  const out = createWriteStream(file);
  out.write('id,barcodes,label,category,vat_code,price,sold_by,serial\n');
  for (let i = 0; i < PRODUCTS; i++) {
    const cents = 100 + (i % 100_000);
    const line = `BENCH-${i},,Produit de test numéro ${i},Catégorie ${i % 200},standard,${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')},unit,none\n`;
    if (!out.write(line)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

const chain = await startChain();
try {
  const file = join(chain.dir, 'million.csv');
  await writeCatalog(file);
  const megabytes = (statSync(file).size / 1e6).toFixed(1);
  const page = await chain.page();
  await logIn(page, chain.app, ADMIN.id);
  await page.getByTestId('nav-admin').waitFor();
  await page.goto(`${chain.app}#/admin/catalog`);
  await page.getByTestId('catalog-file').setInputFiles(file);

  const started = Date.now();
  await page.getByTestId('catalog-import').click();
  await page.getByTestId('catalog-progress').waitFor({ timeout: 5_000 });
  let samples = 0;
  let withoutProgress = 0;
  for (;;) {
    if (await page.getByTestId('catalog-done').count()) break;
    if (await page.getByTestId('catalog-refused').count()) throw new Error('the benchmark catalog was refused');
    samples++;
    if (!(await page.getByTestId('catalog-progress').count())) withoutProgress++;
    if (Date.now() - started > 5 * LIMIT_MS) throw new Error('the import did not finish in 5 minutes');
    await page.waitForTimeout(250);
  }
  const elapsed = Date.now() - started;
  const done = await page.getByTestId('catalog-done').textContent();
  console.log(
    JSON.stringify({ backend: BACKEND, products: PRODUCTS, megabytes: Number(megabytes), seconds: elapsed / 1000, samples, samples_without_progress: withoutProgress, answer: done }),
  );
  assert.equal(withoutProgress, 0, 'progress is on screen at every sample until the import is applied');
  assert.ok(elapsed < LIMIT_MS, `${PRODUCTS} products imported from the browser in ${elapsed / 1000} s: the target is under 60 s`);
} finally {
  await chain.close();
}
