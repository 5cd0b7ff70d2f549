/** RtbDecisionDemand without a runtime: a fan-out that hangs or fails never holds a decision. */
import { describe, expect, it } from 'vitest';
import { DEFAULT_RATES } from '../../src/exchange/rtb/assemble.js';
import type { FanOut } from '../../src/exchange/rtb/auction.js';
import {
  DEADLINE_SAFETY_MS,
  dspWaitMs,
  RtbDecisionDemand,
} from '../../src/exchange/rtb/decision-demand.js';
import { DecisionDeadline } from '../../src/exchange/resilient/deadline.js';
import { FakeClock } from '../helpers/fake-clock.js';
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
  const demand = (fanOut: FanOut, budgetMs = 5, monoMs = () => performance.now()) =>
    new RtbDecisionDemand({
      fanOut,
      notices: null,
      signer: new TrackingSigner('test-tracking-secret-0123456789'),
      monoMs,
      wallMs: () => 1_700_000_000_000,
      config: {
        budgetMs,
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

  describe('the DSP wait is capped by the decision deadline', () => {
    /** A fan-out that records the deadline and tmax it was handed, and answers no bid at once. */
    const recording = () => {
      const handed: { deadlineMs: number; tmax: number | undefined }[] = [];
      const fanOut: FanOut = {
        run: (request, deadlineMs) => {
          handed.push({ deadlineMs, tmax: request.tmax });
          return Promise.resolve({
            bids: [],
            rejected: [],
            nonBids: [],
            outcomes: [],
            sent: new Map(),
          });
        },
      };
      return { fanOut, handed };
    };
    const MONO = 10_000;

    it('plenty of decision time left: the DSP budget', () => {
      const { fanOut, handed } = recording();
      const clock = new FakeClock();
      const deadline = new DecisionDeadline(clock, 100);
      demand(fanOut, 30, () => MONO).start({ placement_id: 'plc_x' }, placement, deadline);
      expect(handed).toEqual([{ deadlineMs: MONO + 30, tmax: 30 }]);
    });

    it('a decision deadline shorter than the DSP budget caps the wait at remaining − safety', () => {
      const { fanOut, handed } = recording();
      const clock = new FakeClock();
      const deadline = new DecisionDeadline(clock, 40);
      clock.advance(18); // our own stages before the fan-out took 18 of the 40 ms
      demand(fanOut, 30, () => MONO).start({ placement_id: 'plc_x' }, placement, deadline);
      const wait = 40 - 18 - DEADLINE_SAFETY_MS;
      expect(wait).toBeLessThan(30);
      expect(handed).toEqual([{ deadlineMs: MONO + wait, tmax: wait }]);
    });

    it('no decision time left: the fan-out gets a deadline of now (it skips every DSP)', async () => {
      const { fanOut, handed } = recording();
      const clock = new FakeClock();
      const deadline = new DecisionDeadline(clock, 20, 17); // 3 ms left, less than the margin
      const call = demand(fanOut, 30, () => MONO).start(
        { placement_id: 'plc_x' },
        placement,
        deadline,
      );
      expect(handed).toEqual([{ deadlineMs: MONO, tmax: 1 }]);
      expect(await call!.bids()).toEqual([]);
    });

    it('dspWaitMs: min(budget, remaining − safety), never negative; no deadline → budget', () => {
      expect(dspWaitMs(30)).toBe(30);
      expect(dspWaitMs(30, 100)).toBe(30);
      expect(dspWaitMs(30, 30 + DEADLINE_SAFETY_MS)).toBe(30);
      expect(dspWaitMs(30, 29 + DEADLINE_SAFETY_MS)).toBe(29);
      expect(dspWaitMs(30, DEADLINE_SAFETY_MS)).toBe(0);
      expect(dspWaitMs(30, 0)).toBe(0);
    });
  });
});
