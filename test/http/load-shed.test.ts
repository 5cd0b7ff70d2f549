import { describe, expect, it } from 'vitest';
import { DEMO_REQUEST } from '../../src/wiring/demo-data.js';
import { pathOf, startTestRuntime } from '../helpers/runtime.js';

describe('load shedding on the decision route', () => {
  it('admits everything below 90% utilisation', async () => {
    const rt = await startTestRuntime(
      {},
      { loadShed: { utilization: () => 0.85, random: () => 0 } },
    );
    try {
      for (let i = 0; i < 20; i++) {
        expect(
          (await rt.app.inject({ method: 'POST', url: '/v1/decisions', payload: DEMO_REQUEST }))
            .statusCode,
        ).toBe(200);
      }
      const metrics = (await rt.app.inject({ url: '/metrics' })).body;
      expect(metrics).toMatch(/adstack_load_zone 1/);
      expect(metrics).toMatch(/adstack_load_utilization 0.85/);
    } finally {
      await rt.close();
    }
  });

  it('past the hard limit: 429 ADS_ERR_OVERLOADED with Retry-After and a reason; events still recorded', async () => {
    let util = 0;
    const rt = await startTestRuntime({}, { loadShed: { utilization: () => util } });
    try {
      const d = (
        await rt.app.inject({ method: 'POST', url: '/v1/decisions', payload: DEMO_REQUEST })
      ).json();
      util = 2;
      const res = await rt.app.inject({
        method: 'POST',
        url: '/v1/decisions',
        payload: DEMO_REQUEST,
      });
      expect(res.statusCode).toBe(429);
      expect(res.headers['retry-after']).toBe('1');
      expect(res.headers['x-adstack-shed']).toBe('hard_limit');
      expect(res.json().error.code).toBe('ADS_ERR_OVERLOADED');
      // The impression of an earlier decision is never shed: accepted money is never lost.
      const imp = await rt.app.inject({ url: pathOf(d.tracking.impression_url) });
      expect(imp.statusCode).toBe(200);
      expect(imp.json().recorded).toBe(true);
      const metrics = (await rt.app.inject({ url: '/metrics' })).body;
      expect(metrics).toMatch(/adstack_shed_total\{reason="hard_limit"\} 1/);
      // At least 1 bad (the shed) of 2 decisions against a 0.1% budget: a burn of 500 or more
      // (1000 if the first decision was also slower than 100 ms on a busy machine), which pages.
      const burn = Number(/adstack_slo_burn_rate\{window="5m"\} (\S+)/.exec(metrics)?.[1]);
      expect(burn).toBeGreaterThanOrEqual(500 - 1e-6);
      expect(metrics).toMatch(/adstack_slo_alert\{severity="page"\} 1/);
    } finally {
      await rt.close();
    }
  });

  it('in the critical zone keeps high-value placements and sheds low-value ones', async () => {
    let util = 0;
    const rt = await startTestRuntime(
      {},
      { loadShed: { utilization: () => util, random: () => 0.5 } },
    );
    try {
      // Teach it values: the demo banner clears at 4.00 CPM (4_000 micros per request); the native
      // placement has a lone CPA bidder clearing at its 0.20 floor (200 micros per request).
      for (let i = 0; i < 300; i++) {
        await rt.app.inject({ method: 'POST', url: '/v1/decisions', payload: DEMO_REQUEST });
        await rt.app.inject({
          method: 'POST',
          url: '/v1/decisions',
          payload: { placement_id: 'plc_demo_native' },
        });
      }
      util = 0.99; // pressure 0.9: native is shed with p = 0.9 × (1 − 200/4000) ≈ 0.86 > 0.5
      const banner = await rt.app.inject({
        method: 'POST',
        url: '/v1/decisions',
        payload: DEMO_REQUEST,
      });
      expect(banner.statusCode).toBe(200);
      const native = await rt.app.inject({
        method: 'POST',
        url: '/v1/decisions',
        payload: { placement_id: 'plc_demo_native' },
      });
      expect(native.statusCode).toBe(429);
      expect(native.headers['x-adstack-shed']).toBe('low_value');
    } finally {
      await rt.close();
    }
  });

  it('admission control refuses before the body is read (even a malformed one), never events', async () => {
    let admit = 1;
    const rt = await startTestRuntime(
      {},
      { loadShed: { utilization: () => 0.95, admitFraction: () => admit, random: () => 0.5 } },
    );
    try {
      const d = (
        await rt.app.inject({ method: 'POST', url: '/v1/decisions', payload: DEMO_REQUEST })
      ).json();
      admit = 0.3; // the draw 0.5 falls outside the admitted share
      const shed = await rt.app.inject({
        method: 'POST',
        url: '/v1/decisions',
        headers: { 'content-type': 'application/json' },
        payload: '{"placement_id": ', // would be a 400 if the body were parsed
      });
      expect(shed.statusCode).toBe(429);
      expect(shed.headers['retry-after']).toBe('1');
      expect(shed.headers['x-adstack-shed']).toBe('admission');
      expect(shed.json().error.code).toBe('ADS_ERR_OVERLOADED');
      const imp = await rt.app.inject({ url: pathOf(d.tracking.impression_url) });
      expect(imp.statusCode).toBe(200);
      expect(imp.json().recorded).toBe(true);
      admit = 0.6; // the same draw now falls inside: admitted and decided
      const ok = await rt.app.inject({
        method: 'POST',
        url: '/v1/decisions',
        payload: DEMO_REQUEST,
      });
      expect(ok.statusCode).toBe(200);
      const metrics = (await rt.app.inject({ url: '/metrics' })).body;
      expect(metrics).toMatch(/adstack_shed_total\{reason="admission"\} 1/);
    } finally {
      await rt.close();
    }
  });
});
