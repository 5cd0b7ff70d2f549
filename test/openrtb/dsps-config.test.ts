/** ADSTACK_DSPS reaches the runtime: the configured DSPs are the fan-out's bidders. */
import { describe, expect, it } from 'vitest';
import { startTestRuntime } from '../helpers/runtime.js';

describe('ADSTACK_DSPS wiring', () => {
  it('every configured DSP has its breaker on /metrics', async () => {
    const rt = await startTestRuntime({
      ADSTACK_DSPS: JSON.stringify({
        decisionBudgetMs: 25,
        dsps: [
          { id: 'cfg-one', endpoint: 'http://127.0.0.1:9/' },
          { id: 'cfg-two', endpoint: 'http://127.0.0.1:9/', ortbVersion: '2.5' },
        ],
      }),
    });
    try {
      const text = (await rt.app.inject({ url: '/metrics' })).body;
      expect(text).toContain('adstack_rtb_breaker_state{bidder="cfg-one"} 0');
      expect(text).toContain('adstack_rtb_breaker_state{bidder="cfg-two"} 0');
    } finally {
      await rt.close();
    }
  }, 90_000); // a runtime start inside the test; 30 s was too tight on a loaded machine
});
