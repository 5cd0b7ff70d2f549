/**
 * Circuit breakers on dependencies (issue 8): the guard around a port, the port decorators,
 * the model's breaker and the ladder's skip-ML switch in the prediction stage, and the
 * per-decision deadline. Time is a fake clock; the only real timers are the cut of a call that
 * never answers (the assertion is on the outcome, never on how long it took).
 */
import { describe, expect, it } from 'vitest';
import { createMemoryFrequencyCounters } from '../../src/adapters/memory/frequency-counters.js';
import type { Campaign, Creative } from '../../src/core/domain/entities.js';
import { PredictionStage } from '../../src/exchange/prediction.js';
import { DeadlineExceededError, DecisionDeadline } from '../../src/exchange/resilient/deadline.js';
import {
  BreakerOpenError,
  DependencyGuard,
  DependencyTimeoutError,
  type BreakerTransition,
} from '../../src/exchange/resilient/guard.js';
import { guardFrequencyCounters } from '../../src/exchange/resilient/ports.js';
import { Resilience } from '../../src/exchange/resilient/resilience.js';
import type { LoadedModel } from '../../src/ml/model-file.js';
import type { FrequencyCounters } from '../../src/ports/frequency-counters.js';
import { FakeClock } from '../helpers/fake-clock.js';

const boom = () => Promise.reject(new Error('ECONNREFUSED'));

function makeGuard(
  clock: FakeClock,
  extra: Partial<ConstructorParameters<typeof DependencyGuard>[0]> = {},
) {
  const transitions: BreakerTransition[] = [];
  const g = new DependencyGuard({
    name: 'redis',
    clock,
    onTransition: (t) => transitions.push(t),
    ...extra,
  });
  return { g, transitions };
}

async function fail(g: DependencyGuard, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await expect(g.run(boom)).rejects.toThrow('ECONNREFUSED');
}

describe('DependencyGuard', () => {
  it('opens after 8 failures in a row and then fails fast without calling the dependency', async () => {
    const clock = new FakeClock();
    const { g, transitions } = makeGuard(clock);
    await fail(g, 7);
    expect(g.state()).toBe('closed');
    await fail(g, 1);
    expect(g.state()).toBe('open');
    let called = 0;
    await expect(
      g.run(async () => {
        called++;
        return 1;
      }),
    ).rejects.toBeInstanceOf(BreakerOpenError);
    expect(called).toBe(0);
    expect(g.calls).toEqual({ success: 0, failure: 8, rejected: 1, caller_error: 0 });
    expect(transitions).toEqual([{ dependency: 'redis', from: 'closed', to: 'open', opened: 1 }]);
  });

  it('opens within 2 s of a failure run at a low call rate', async () => {
    const clock = new FakeClock();
    const { g } = makeGuard(clock);
    await fail(g, 3);
    clock.advance(1999);
    await fail(g, 1);
    expect(g.state()).toBe('closed');
    clock.advance(1);
    await fail(g, 1);
    expect(g.state()).toBe('open');
  });

  it('half-opens after 0.5 s, doubles the open time on a failed probe, closes after 2 successes', async () => {
    const clock = new FakeClock();
    const { g, transitions } = makeGuard(clock);
    await fail(g, 8);
    clock.advance(499);
    expect(g.state()).toBe('open');
    clock.advance(1);
    expect(g.state()).toBe('half_open');
    await fail(g, 1); // the probe fails: open for 1 s now
    expect(g.state()).toBe('open');
    clock.advance(999);
    await expect(g.run(async () => 1)).rejects.toBeInstanceOf(BreakerOpenError);
    clock.advance(1);
    expect(await g.run(async () => 'a')).toBe('a');
    expect(g.state()).toBe('half_open');
    expect(await g.run(async () => 'b')).toBe('b');
    expect(g.state()).toBe('closed');
    expect(transitions.map((t) => `${t.from}>${t.to}`)).toEqual([
      'closed>open',
      'open>half_open',
      'half_open>open',
      'open>half_open',
      'half_open>closed',
    ]);
    // Closed again: the back-off is reset to 0.5 s.
    await fail(g, 8);
    clock.advance(500);
    expect(g.state()).toBe('half_open');
  });

  it('half-open lets one probe through at a time', async () => {
    const clock = new FakeClock();
    const { g } = makeGuard(clock);
    await fail(g, 8);
    clock.advance(500);
    let release: (v: number) => void = () => undefined;
    const probe = g.run(() => new Promise<number>((r) => (release = r)));
    await expect(g.run(async () => 2)).rejects.toBeInstanceOf(BreakerOpenError);
    release(1);
    expect(await probe).toBe(1);
  });

  it('errors that are the caller’s fault do not count against the dependency', async () => {
    const clock = new FakeClock();
    const { g } = makeGuard(clock, { isFailure: (e) => !(e instanceof RangeError) });
    for (let i = 0; i < 20; i++) {
      await expect(g.run(() => Promise.reject(new RangeError('bad key')))).rejects.toThrow(
        RangeError,
      );
    }
    expect(g.state()).toBe('closed');
    expect(g.calls.caller_error).toBe(20);
  });

  it('cuts a call that never answers after its timeout and counts it as a failure', async () => {
    const clock = new FakeClock();
    const { g } = makeGuard(clock, { timeoutMs: 5 });
    await expect(g.run(() => new Promise<never>(() => undefined))).rejects.toBeInstanceOf(
      DependencyTimeoutError,
    );
    expect(g.calls.failure).toBe(1);
  });
});

describe('guarded FrequencyCounters', () => {
  it('passes calls through while closed and fails fast while open', async () => {
    const clock = new FakeClock();
    const { g } = makeGuard(clock);
    const ok = guardFrequencyCounters(createMemoryFrequencyCounters(), g);
    const rule = { scope: 'campaign' as const, id: 'c1', maxImpressions: 1, windowMs: 60_000 };
    expect((await ok.check('u1', [rule], clock.nowMs())).allowed).toBe(true);
    let calls = 0;
    const failing: FrequencyCounters = {
      check: () => {
        calls++;
        return Promise.reject(new Error('Connection is closed.'));
      },
      increment: boom,
      checkAndIncrement: boom,
      forgetUser: boom,
    };
    const guarded = guardFrequencyCounters(failing, g);
    for (let i = 0; i < 20; i++) await guarded.check('u1', [rule], 0).catch(() => undefined);
    expect(calls).toBe(8);
    await expect(guarded.check('u1', [rule], 0)).rejects.toBeInstanceOf(BreakerOpenError);
  });
});

describe('Resilience (breakers + ladder)', () => {
  it('cuts each I/O dependency at its own configured timeout; the model is never cut', async () => {
    const clock = new FakeClock();
    const r = new Resilience({
      clock,
      callTimeoutMs: 15,
      postgresTimeoutMs: 25,
      natsTimeoutMs: 35,
    });
    const hang = () => new Promise<never>(() => undefined);
    for (const [name, ms] of [
      ['redis', 15],
      ['redis_budget', 15],
      ['postgres', 25],
      ['nats', 35],
    ] as const) {
      const e: unknown = await r
        .guard(name)
        .run(hang)
        .catch((x: unknown) => x);
      expect(e).toBeInstanceOf(DependencyTimeoutError);
      expect(e).toMatchObject({ dependency: name, timeoutMs: ms });
      expect(r.guard(name).calls.failure).toBe(1);
    }
    // The model's guard runs synchronous scoring: no timeout to apply.
    expect(r.guard('model').runSync(() => 7)).toBe(7);
  });

  it('an open breaker moves the ladder to stale_cache; closing it lets the ladder recover', async () => {
    const clock = new FakeClock();
    const r = new Resilience({ clock });
    const changes: string[] = [];
    r.onLadderChange((c) => changes.push(`${c.from}>${c.to}:${c.cause}`));
    const g = r.guard('redis');
    expect(r.levelName()).toBe('normal');
    await fail(g, 8);
    clock.advance(100);
    expect(r.levelName()).toBe('stale_cache');
    clock.advance(500); // half-open: still not closed, still degraded
    expect(r.openBreakers()).toEqual(['redis']);
    await g.run(async () => 1);
    await g.run(async () => 1);
    expect(r.openBreakers()).toEqual([]);
    clock.advance(100);
    expect(r.levelName()).toBe('stale_cache'); // the hold starts
    clock.advance(5000);
    expect(r.levelName()).toBe('normal');
    expect(changes).toEqual(['0>1:breaker', '1>0:recovered']);
  });

  it('the load shedder’s utilisation drives skip-ML; the model breaker alone does not', async () => {
    const clock = new FakeClock();
    const r = new Resilience({ clock });
    let u = 0.5;
    r.attachUtilization(() => u);
    const model = r.guard('model');
    for (let i = 0; i < 8; i++)
      expect(() =>
        model.runSync(() => {
          throw new Error('x');
        }),
      ).toThrow();
    expect(model.state()).toBe('open');
    expect(r.skipModel()).toBe(false);
    expect(r.levelName()).toBe('normal');
    u = 0.97;
    clock.advance(100);
    expect(r.skipModel()).toBe(true);
    expect(r.levelName()).toBe('skip_ml');
  });
});

const campaign = { id: 'c1', advertiser_id: 'a1' } as unknown as Campaign;
const creative = { id: 'cr1' } as unknown as Creative;

function fakeModel(score: () => number): { model: LoadedModel; calls: () => number } {
  let calls = 0;
  const model = {
    source: 'adstack',
    manifest: { version: 'v-test' },
    scorer: {
      kind: 'gbdt',
      predictBatch(_rows: Float64Array, n: number, out: Float64Array) {
        calls++;
        for (let i = 0; i < n; i++) out[i] = score();
      },
    },
  } as unknown as LoadedModel;
  return { model, calls: () => calls };
}

describe('PredictionStage under degradation', () => {
  const priors = { ctr: 0.01, cvr: 0.05 };
  const req = { placement_id: 'p1' } as never;

  it('skip-ML: the priors, without calling the model, and the summary says why', () => {
    const m = fakeModel(() => 0.3);
    let skip = false;
    const stage = new PredictionStage(priors, { model: m.model }, { skipModel: () => skip });
    expect(stage.predict(req, [{ campaign, creative }], 0).predictions[0]?.ctr).toBe(0.3);
    skip = true;
    const out = stage.predict(req, [{ campaign, creative }], 0);
    expect(out.predictions).toEqual([priors]);
    expect(out.summary).toEqual({ ...priors, source: 'constant_prior', fallback: 'skip_ml' });
    expect(m.calls()).toBe(1);
  });

  it('a throwing model falls back to the priors and opens its breaker', () => {
    const clock = new FakeClock();
    const m = fakeModel(() => {
      throw new Error('corrupt tree');
    });
    const guard = new DependencyGuard({ name: 'model', clock });
    const stage = new PredictionStage(priors, { model: m.model }, { guard });
    const first = stage.predict(req, [{ campaign, creative }], 0);
    expect(first.summary).toMatchObject({ source: 'constant_prior', fallback: 'model_error' });
    for (let i = 0; i < 7; i++) stage.predict(req, [{ campaign, creative }], 0);
    const open = stage.predict(req, [{ campaign, creative }], 0);
    expect(open.summary).toMatchObject({ fallback: 'model_breaker_open' });
    expect(open.predictions).toEqual([priors]);
    expect(m.calls()).toBe(8);
  });
});

describe('PredictionStage with a CVR model', () => {
  const priors = { ctr: 0.01, cvr: 0.05 };
  const req = { placement_id: 'p1' } as never;
  const cpa = { ...campaign, id: 'c2', pricing_model: 'cpa' } as unknown as Campaign;
  const cpm = { ...campaign, id: 'c3', pricing_model: 'cpm' } as unknown as Campaign;

  it('scores only CPA candidates with the CVR model; the others keep the CVR prior', () => {
    const ctr = fakeModel(() => 0.3);
    const cvr = fakeModel(() => 0.2);
    const stage = new PredictionStage(priors, { model: ctr.model }, {}, { model: cvr.model });
    const out = stage.predict(
      req,
      [
        { campaign: cpm, creative },
        { campaign: cpa, creative },
      ],
      0,
    );
    expect(out.predictions).toEqual([
      { ctr: 0.3, cvr: 0.05 },
      { ctr: 0.3, cvr: 0.2 },
    ]);
    expect(out.summary).toMatchObject({
      source: 'model',
      cvr_source: 'model',
      cvr_model: { version: 'v-test' },
    });
    // No CPA candidate: the CVR model is not called.
    stage.predict(req, [{ campaign: cpm, creative }], 0);
    expect(cvr.calls()).toBe(1);
  });

  it('a CVR model without a CTR model: CTR prior, CVR model', () => {
    const cvr = fakeModel(() => 0.2);
    const stage = new PredictionStage(priors, null, {}, { model: cvr.model });
    const out = stage.predict(req, [{ campaign: cpa, creative }], 0);
    expect(out.predictions).toEqual([{ ctr: 0.01, cvr: 0.2 }]);
    expect(out.summary).toMatchObject({ source: 'constant_prior', ctr: 0.01, cvr_source: 'model' });
  });

  it('skip-ML and a throwing CVR model fall back to both priors', () => {
    const cvr = fakeModel(() => {
      throw new Error('corrupt tree');
    });
    let skip = true;
    const guard = new DependencyGuard({ name: 'model', clock: new FakeClock() });
    const stage = new PredictionStage(
      priors,
      null,
      { skipModel: () => skip, guard },
      { model: cvr.model },
    );
    const skipped = stage.predict(req, [{ campaign: cpa, creative }], 0);
    expect(skipped.predictions).toEqual([priors]);
    expect(skipped.summary).toMatchObject({ fallback: 'skip_ml' });
    expect(cvr.calls()).toBe(0);
    skip = false;
    const failed = stage.predict(req, [{ campaign: cpa, creative }], 0);
    expect(failed.predictions).toEqual([priors]);
    expect(failed.summary).toMatchObject({ source: 'constant_prior', fallback: 'model_error' });
    expect(cvr.calls()).toBe(1);
  });
});

describe('DecisionDeadline', () => {
  it('caps the wait for a budget setup by what the request has left, and never rejects', async () => {
    const clock = new FakeClock();
    const d = new DecisionDeadline(clock, 20, 0);
    let settled = false;
    const hung = new Promise<void>(() => undefined);
    await d.budgetSetup([hung]).then(() => (settled = true));
    expect(settled).toBe(true);
    expect(d.degraded).toEqual([{ stage: 'budget', reason: 'deadline' }]);
    // A setup that finishes in time is simply waited for.
    const ok = new DecisionDeadline(clock, 1_000, 0);
    await ok.budgetSetup([Promise.resolve()]);
    expect(ok.degraded).toEqual([]);
  });

  it('skips the stages the ladder says to skip (house ads only), without calling them', async () => {
    const clock = new FakeClock();
    const d = new DecisionDeadline(clock, 100, 0, {}, () => true);
    let called = false;
    await expect(
      d.cut('frequency', async () => {
        called = true;
        return 1;
      }),
    ).rejects.toThrow('skipped by the degradation ladder');
    await d.budgetSetup([new Promise<void>(() => undefined)]);
    expect(called).toBe(false);
    expect(d.degraded).toEqual([
      { stage: 'frequency', reason: 'ladder' },
      { stage: 'budget', reason: 'ladder' },
    ]);
  });

  it('cuts a frequency read that never answers and records the stage as degraded', async () => {
    const clock = new FakeClock();
    const d = new DecisionDeadline(clock, 100, 0, { frequency: 5 });
    const hanging: FrequencyCounters = {
      check: () => new Promise<never>(() => undefined),
      increment: boom,
      checkAndIncrement: boom,
      forgetUser: boom,
    };
    await expect(d.frequency(hanging).check('u', [], 0)).rejects.toBeInstanceOf(
      DeadlineExceededError,
    );
    expect(d.degraded).toEqual([{ stage: 'frequency', reason: 'deadline' }]);
  });

  it('gives no I/O stage any time once the request budget is spent', async () => {
    const clock = new FakeClock();
    const d = new DecisionDeadline(clock, 100, 0);
    clock.advance(100);
    expect(d.remainingMs()).toBe(0);
    let called = false;
    await expect(
      d.cut('frequency', async () => {
        called = true;
        return 1;
      }),
    ).rejects.toBeInstanceOf(DeadlineExceededError);
    expect(called).toBe(false);
    expect(d.signal.aborted).toBe(true);
  });

  it('records an open breaker as breaker_open and lets answers within budget through', async () => {
    const clock = new FakeClock();
    const d = new DecisionDeadline(clock, 100, 40);
    expect(d.remainingMs()).toBe(60);
    expect(await d.cut('frequency', async () => 'ok')).toBe('ok');
    await expect(
      d.cut('frequency', () => Promise.reject(new BreakerOpenError('redis'))),
    ).rejects.toBeInstanceOf(BreakerOpenError);
    expect(d.degraded).toEqual([{ stage: 'frequency', reason: 'breaker_open' }]);
    expect(d.signal.aborted).toBe(false);
    d.done();
  });
});
