// The catch-up benchmark's baseline: PouchDB replicating the very records a till uploads to
// head office, from a local PouchDB (LevelDB, as a PouchDB till would hold them) to
// pouchdb-server over HTTP on loopback, with PouchDB's default replication settings.
//
// Usage: node replicate.mjs RECORDS.jsonl
//   RECORDS.jsonl: one JSON document per line (written by `sync-server/benches/ingest.rs`).
// Prints one JSON line: {"docs": N, "seconds": S} where S covers the replication only (the
// local database is filled and pouchdb-server started before the clock starts).

import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import PouchDB from 'pouchdb';

const here = dirname(fileURLToPath(import.meta.url));

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function waitForServer(url, child) {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`pouchdb-server exited with ${child.exitCode}`);
    try {
      const response = await fetch(url);
      if (response.ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`pouchdb-server did not answer at ${url} within 30 s`);
}

async function main() {
  const [recordsPath] = process.argv.slice(2);
  if (!recordsPath) throw new Error('usage: node replicate.mjs RECORDS.jsonl');
  const docs = readFileSync(recordsPath, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line));

  const work = mkdtempSync(join(tmpdir(), 'pouchdb-bench-'));
  const port = await freePort();
  const server = spawn(
    join(here, 'node_modules', '.bin', 'pouchdb-server'),
    ['--host', '127.0.0.1', '--port', String(port), '--dir', join(work, 'server'), '--no-stdout-logs'],
    // Started in its scratch directory: it writes its `config.json` and `log.txt` where it starts.
    { cwd: work, stdio: ['ignore', 'ignore', 'inherit'] },
  );
  try {
    const base = `http://127.0.0.1:${port}`;
    await waitForServer(base, server);

    const source = new PouchDB(join(work, 'source'));
    for (let i = 0; i < docs.length; i += 1000) {
      await source.bulkDocs(docs.slice(i, i + 1000));
    }

    const started = process.hrtime.bigint();
    const result = await PouchDB.replicate(source, `${base}/records`);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (result.docs_written !== docs.length) {
      throw new Error(`replicated ${result.docs_written} documents of ${docs.length}`);
    }
    await source.close();
    console.log(JSON.stringify({ docs: docs.length, seconds }));
  } finally {
    server.kill();
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
