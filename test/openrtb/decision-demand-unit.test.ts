/** RtbDecisionDemand without a runtime: a fan-out that hangs or fails never holds a decision. */
import { describe, expect, it } from 'vitest';
import { DEFAULT_RATES } from '../../src/exchange/rtb/assemble.js';
import type { FanOut } from '../../src/exchange/rtb/auction.js';
import { RtbDecisionDemand } from '../../src/exchange/rtb/decision-demand.js';
import type { FanOutResult } from '../../src/exchange/rtb/fan-out.js';
import { TrackingSigner } from '../../src/exchange/tracking.js';

const never: FanOut = { run: () => new Promise<FanOutResult>(() => undefined) };

describe('RtbDecisionDemand on its own', () => {
  const placement = {
    id: 'plc_x',
    publisher: 'p',
    name: 'x',
    format: 'banner' as const,
    w: 300,
    h: 250,
    floor_cpm_micros: 0,
    status: 'active' as const,
    rtb_enabled: true,
    created_at: '',
    updated_at: '',
  };
  const demand = (fanOut: FanOut) =>
    new RtbDecisionDemand({
      fanOut,
      notices: null,
      signer: new TrackingSigner('test-tracking-secret-0123456789'),
      monoMs: () => performance.now(),
      wallMs: () => 1_700_000_000_000,
      config: {
        budgetMs: 5,
        rates: DEFAULT_RATES,
        schainAsi: 'adstack.example',
        publicUrl: 'http://ads.test',
        trackingTtlMs: 60_000,
      },
    });

  it('a fan-out that never ends does not hold the decision: no DSP bids', async () => {
    const call = demand(never).start({ placement_id: 'plc_x' }, placement);
    expect(call).not.toBeNull();
    expect(await call!.bids()).toEqual([]);
  });

  it('a fan-out that fails is no DSP bids', async () => {
    const call = demand({ run: () => Promise.reject(new Error('boom')) }).start(
      { placement_id: 'plc_x' },
      placement,
    );
    expect(await call!.bids()).toEqual([]);
  });

  it('a placement without rtb_enabled starts nothing', () => {
    const d = demand(never);
    expect(d.start({ placement_id: 'plc_x' }, { ...placement, rtb_enabled: false })).toBeNull();
    expect(d.start({ placement_id: 'plc_x' }, { ...placement, rtb_enabled: undefined })).toBeNull();
  });
});
