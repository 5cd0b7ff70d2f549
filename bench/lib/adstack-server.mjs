/**
 * Starts the built adstack server (`dist/cli/main.js serve --demo`) in a child process on a free
 * port with a fresh PGlite data folder, and waits for /readyz. Shared by every benchmark that
 * measures the server, so they all measure the same documented configuration.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, startNode, stopNode, waitForHttp } from './util.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * Returns { proc, dataDir, base, startupS }; the caller stops `proc` and removes `dataDir`.
 * On failure it cleans up itself, since the caller never gets a handle.
 */
export async function startAdstack({ signal, timeoutMs, tmpPrefix = 'adstack-bench-' }) {
  const port = await freePort();
  const dataDir = await mkdtemp(path.join(os.tmpdir(), tmpPrefix));
  const proc = startNode('adstack', [path.join(root, 'dist/cli/main.js'), 'serve', '--demo'], {
    cwd: root,
    env: {
      // Inherited ADSTACK_* settings (a DATABASE_URL, a REDIS_URL…) would silently change what is
      // measured, so the server gets exactly the documented configuration.
      ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ADSTACK_'))),
      ADSTACK_PORT: String(port),
      ADSTACK_DATA_DIR: dataDir,
      ADSTACK_LOG_LEVEL: 'warn',
      // `serve --demo` would also start simulated DSPs; the decision route does not use them.
      ADSTACK_DEMO_DSPS: '0',
    },
  });
  const base = `http://127.0.0.1:${port}`;
  try {
    const startupS = await waitForHttp(`${base}/readyz`, { proc, timeoutMs, signal });
    return { proc, dataDir, base, startupS };
  } catch (e) {
    await stopNode(proc);
    await rm(dataDir, { recursive: true, force: true });
    throw e;
  }
}
