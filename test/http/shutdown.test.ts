import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEMO_REQUEST } from '../../src/wiring/demo-data.js';
import { pathOf, startTestRuntime } from '../helpers/runtime.js';

describe('graceful shutdown', () => {
  it('finishes in-flight event writes before closing: every accepted impression is on disk', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'adstack-shutdown-'));
    try {
      const rt = await startTestRuntime({ ADSTACK_DATA_DIR: dir });
      const urls: string[] = [];
      for (let i = 0; i < 30; i++) {
        const d = await rt.app.inject({
          method: 'POST',
          url: '/v1/decisions',
          payload: DEMO_REQUEST,
        });
        urls.push(pathOf(d.json().tracking.impression_url));
      }
      const inFlight = urls.map((u) => rt.app.inject({ url: u }));
      const closing = rt.close();
      const answers = await Promise.all(inFlight);
      await closing;
      const accepted = answers.filter((a) => a.statusCode === 200).length;

      const reopened = await startTestRuntime({ ADSTACK_DATA_DIR: dir });
      expect((await reopened.ledger.totals({})).rows).toBe(accepted);
      expect(accepted).toBeGreaterThan(0);
      await reopened.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 90_000); // two PGlite starts and 30 decisions; 30 s was too tight on a loaded machine
});
