/**
 * Decision events (issue 7 item 5; ADSTACK_DECISION_EVENTS=on): every decision — fill or no
 * fill — hands one `decision` event to the event log through the bounded publisher, with its
 * ids, the outcome and the closed-enum no-fill reason, and no user id or key. Off by default.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnyEvent, EventConsumer } from '../../src/ports/event-log.js';
import { DEMO_REQUEST } from '../../src/wiring/demo-data.js';
import { ADMIN_KEY, startTestRuntime, type TestRuntime } from '../helpers/runtime.js';

let rt: TestRuntime;
let consumer: EventConsumer;
beforeAll(async () => {
  rt = await startTestRuntime({ ADSTACK_DECISION_EVENTS: 'on' });
  consumer = await rt.userData.eventLog.consumer('decision-events-test', {
    types: ['decision'],
    deliver: 'new',
    ephemeral: true,
  });
});
afterAll(async () => {
  await consumer?.close();
  await rt?.close();
});

async function next(n: number): Promise<AnyEvent[]> {
  const got: AnyEvent[] = [];
  for (let i = 0; i < 50 && got.length < n; i++) {
    for (const d of await consumer.fetch(n - got.length, 200)) {
      got.push(d.event);
      await d.ack();
    }
  }
  return got;
}

describe('decision events', () => {
  it('one event per decision: fill with its ids and price, no-fill with its reason', async () => {
    const fill = await rt.app.inject({
      method: 'POST',
      url: '/v1/decisions',
      payload: { ...DEMO_REQUEST, user: { id: 'decision-events-user' } },
    });
    expect(fill.statusCode).toBe(200);
    const f = fill.json() as {
      decision_id: string;
      campaign_id: string;
      creative_id: string;
      price: { price_micros: number };
    };
    const pl = await rt.app.inject({
      method: 'POST',
      url: '/v1/admin/placements',
      headers: { 'x-api-key': ADMIN_KEY },
      payload: { publisher: 'p.example', name: 'Skyscraper', format: 'banner', w: 160, h: 600 },
    });
    expect(pl.statusCode).toBe(201);
    const placementId = (pl.json() as { id: string }).id;
    const none = await rt.app.inject({
      method: 'POST',
      url: '/v1/decisions',
      payload: { placement_id: placementId },
    });
    expect(none.statusCode).toBe(204);

    const [a, b] = await next(2);
    expect(a).toMatchObject({
      id: `decision:${f.decision_id}`,
      type: 'decision',
      v: 1,
      data: {
        decision_id: f.decision_id,
        placement_id: DEMO_REQUEST.placement_id,
        outcome: 'fill',
        campaign_id: f.campaign_id,
        creative_id: f.creative_id,
        price_micros: f.price.price_micros,
      },
    });
    expect(JSON.stringify(a)).not.toContain('decision-events-user');
    expect(b).toMatchObject({
      type: 'decision',
      data: { placement_id: placementId, outcome: 'no_fill', reason: 'no_eligible_campaign' },
    });
  });
});
