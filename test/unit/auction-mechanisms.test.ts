/**
 * Table tests per mechanism, tier and tie rule of the auction engine (issue 3, items 2, 3, 6, 7).
 * Amounts are micros: a cpm bid of 5_000_000 is $5.00 CPM.
 */
import { describe, expect, it } from 'vitest';
import {
  AuctionConfigError,
  runAuction,
  type AuctionBid,
  type AuctionConfig,
  type Mechanism,
  type Tier,
  TIERS,
} from '../../src/core/auction/index.js';
import { tierIndexOf } from '../../src/core/auction/tiers.js';
import { LossReason, lossReasonName } from '../../src/core/reasons.js';

const cpm = (id: string, bidMicros: number, extra: Partial<AuctionBid> = {}): AuctionBid => ({
  id,
  model: 'cpm',
  bid_micros: bidMicros,
  prediction: { ctr: 0, cvr: 0 },
  ...extra,
});
const cpc = (id: string, bidMicros: number, ctr: number): AuctionBid => ({
  id,
  model: 'cpc',
  bid_micros: bidMicros,
  prediction: { ctr, cvr: 0 },
});
const cpa = (id: string, bidMicros: number, ctr: number, cvr: number): AuctionBid => ({
  id,
  model: 'cpa',
  bid_micros: bidMicros,
  prediction: { ctr, cvr },
});
const cfg = (mechanism: Mechanism, over: Partial<AuctionConfig> = {}): AuctionConfig => ({
  mechanism,
  slot_factors: [1],
  reserve_cpm_micros: 0,
  increment_micros: 0,
  ...over,
});
const prices = (bids: AuctionBid[], c: AuctionConfig) =>
  runAuction(bids, c).winners.map((w) => [w.id, w.slot, w.price_micros]);
const reasons = (bids: AuctionBid[], c: AuctionConfig) =>
  runAuction(bids, c).losers.map((l) => [l.id, l.reason]);

describe('eCPM normalisation across pricing models', () => {
  it('ranks cpm, cpc and cpa in one eCPM space and charges each winner in its own unit', () => {
    // eCPM: cpm 3.00; cpc 0.50 × 0.01 × 1000 = 5.00; cpa 20.00 × 0.02 × 0.01 × 1000 = 4.00.
    const bids = [cpm('M', 3_000_000), cpc('C', 500_000, 0.01), cpa('A', 20_000_000, 0.02, 0.01)];
    const out = runAuction(bids, cfg('gsp', { slot_factors: [1, 0.5, 0.25] }));
    expect(out.winners.map((w) => [w.id, w.ecpm_micros])).toEqual([
      ['C', 5_000_000],
      ['A', 4_000_000],
      ['M', 3_000_000],
    ]);
    // C pays A's 4.00 eCPM per click: 4_000_000 / (0.01 × 1000) = 400_000;
    // A pays M's 3.00 per action: 3_000_000 / (0.02 × 0.01 × 1000) = 15_000_000;
    // M, last with no reserve, pays 0.
    expect(out.winners.map((w) => w.price_micros)).toEqual([400_000, 15_000_000, 0]);
  });
});

describe('first price', () => {
  it.each([
    ['one slot: the winner pays its bid', [1], [['b', 0, 7_000_000]]],
    [
      'several slots: each winner pays its own bid, in eCPM order',
      [1, 0.5],
      [
        ['b', 0, 7_000_000],
        ['a', 1, 500_000],
      ],
    ],
  ])('%s', (_name, slots, expected) => {
    const bids = [cpc('a', 500_000, 0.01), cpm('b', 7_000_000), cpm('c', 2_000_000)];
    expect(prices(bids, cfg('first_price', { slot_factors: slots }))).toEqual(expected);
  });

  it('ignores the increment and still honours the reserve', () => {
    const bids = [cpm('a', 4_000_000), cpm('b', 1_000_000)];
    const c = cfg('first_price', { reserve_cpm_micros: 2_000_000, increment_micros: 10_000 });
    expect(prices(bids, c)).toEqual([['a', 0, 4_000_000]]);
    expect(reasons(bids, c)).toEqual([['b', LossReason.BelowAuctionFloor]]);
  });
});

describe('second price', () => {
  it.each([
    // [name, bids, config, expected price of the winner]
    ['runner-up eCPM', [cpm('a', 5_000_000), cpm('b', 3_000_000)], cfg('second_price'), 3_000_000],
    [
      'increment in the winner’s unit: CPC pays 8.00 eCPM → 0.80/click + 0.01',
      [cpc('a', 1_000_000, 0.01), cpm('b', 8_000_000)],
      cfg('second_price', { increment_micros: 10_000 }),
      810_000,
    ],
    [
      'capped at the bid when runner-up + increment exceeds it',
      [cpm('a', 5_000_000), cpm('b', 4_995_000)],
      cfg('second_price', { increment_micros: 10_000 }),
      5_000_000,
    ],
    [
      'the reserve when it is above the runner-up',
      [cpm('a', 5_000_000), cpm('b', 1_000_000)],
      cfg('second_price', { reserve_cpm_micros: 1_500_000 }),
      1_500_000,
    ],
    [
      'a lone bidder pays reserve + increment (issue 3 item 8: max(next, reserve) + increment)',
      [cpm('a', 5_000_000)],
      cfg('second_price', { reserve_cpm_micros: 1_000_000, increment_micros: 10_000 }),
      1_010_000,
    ],
    [
      'the impression floor acts like the reserve',
      [cpm('a', 5_000_000), cpm('b', 1_000_000)],
      cfg('second_price', { reserve_cpm_micros: 500_000, floor_cpm_micros: 2_000_000 }),
      2_000_000,
    ],
  ])('%s', (_name, bids, c, expected) => {
    expect(runAuction(bids, c).winners[0]?.price_micros).toBe(expected);
  });

  it('with several slots runs GSP (its K-slot generalisation)', () => {
    const bids = [cpm('a', 5_000_000), cpm('b', 3_000_000), cpm('c', 2_000_000)];
    const slots = { slot_factors: [0.5, 0.3] };
    expect(prices(bids, cfg('second_price', slots))).toEqual(prices(bids, cfg('gsp', slots)));
  });
});

describe('GSP over K slots', () => {
  it.each([
    [
      'each slot pays the next eCPM; the last the next bid without a slot',
      [1, 0.6, 0.3],
      0,
      [
        ['a', 0, 6_000_000],
        ['b', 1, 4_000_000],
        ['c', 2, 1_000_000],
      ],
    ],
    [
      'the reserve lifts the low slots and keeps out bids below it',
      [1, 0.6, 0.3],
      4_500_000,
      [
        ['a', 0, 6_000_000],
        ['b', 1, 4_500_000],
      ],
    ],
    ['fewer slots than bids', [1], 0, [['a', 0, 6_000_000]]],
  ])('%s', (_name, slots, reserve, expected) => {
    const bids = [
      cpm('c', 4_000_000),
      cpm('a', 9_000_000),
      cpm('d', 1_000_000),
      cpm('b', 6_000_000),
    ];
    const c = cfg('gsp', { slot_factors: slots, reserve_cpm_micros: reserve });
    expect(prices(bids, c)).toEqual(expected);
  });

  it('leaves slots empty when fewer bids clear than there are slots', () => {
    const out = runAuction([cpm('a', 2_000_000)], cfg('gsp', { slot_factors: [1, 0.5, 0.2] }));
    expect(out.winners.map((w) => [w.id, w.slot, w.price_micros])).toEqual([['a', 0, 0]]);
  });
});

describe('VCG over K slots', () => {
  it('prices with the reserve as the seller bidding r in every slot', () => {
    // α = 1, 0.5; eCPM a 10, b 6; reserve 4.
    // a: (1 − 0.5) × 6 + 0.5 × 4 = 5 per impression / α 1 → 5.00.
    // b: 0.5 × max(none, 4) = 2 / α 0.5 → 4.00 (the reserve; GSP would charge 4.00 too).
    const bids = [cpm('a', 10_000_000), cpm('b', 6_000_000), cpm('c', 3_000_000)];
    const c = cfg('vcg', { slot_factors: [1, 0.5], reserve_cpm_micros: 4_000_000 });
    expect(prices(bids, c)).toEqual([
      ['a', 0, 5_000_000],
      ['b', 1, 4_000_000],
    ]);
    expect(prices(bids, { ...c, mechanism: 'gsp' })).toEqual([
      ['a', 0, 6_000_000],
      ['b', 1, 4_000_000],
    ]);
    expect(reasons(bids, c)).toEqual([['c', LossReason.BelowAuctionFloor]]);
  });

  it('equals GSP when all slot factors are equal (no position externality to discount)', () => {
    const bids = [cpm('a', 9_000_000), cpm('b', 6_000_000), cpm('c', 4_000_000)];
    const slots = { slot_factors: [0.5, 0.5] };
    expect(prices(bids, cfg('vcg', slots))).toEqual([
      ['a', 0, 4_000_000],
      ['b', 1, 4_000_000],
    ]);
  });

  it('does not add the increment (VCG prices are externalities, not "next price + ε")', () => {
    const bids = [cpm('a', 9_000_000), cpm('b', 6_000_000)];
    expect(prices(bids, cfg('vcg', { increment_micros: 10_000 }))).toEqual([['a', 0, 6_000_000]]);
  });
});

describe('priority tiers', () => {
  it('guaranteed beats a higher open bid and pays its booked rate; the open bid gets reason 500', () => {
    const bids = [cpm('open', 9_000_000), cpm('sponsor', 3_000_000, { tier: 'guaranteed' })];
    const out = runAuction(bids, cfg('second_price'));
    expect(out.winners).toMatchObject([
      { id: 'sponsor', tier: 'guaranteed', price_micros: 3_000_000 },
    ]);
    expect(out.losers).toEqual([
      {
        id: 'open',
        tier: 'open',
        ecpm_micros: 9_000_000,
        reason: LossReason.LostToHigherPriority,
      },
    ]);
  });

  it('a deal takes the slot over a higher open bid, priced among deals only; the open bid gets 103', () => {
    const bids = [
      cpm('open', 9_000_000),
      cpm('deal1', 4_000_000, { tier: 'deal', deal_floor_cpm_micros: 2_000_000 }),
      cpm('deal2', 3_000_000, { tier: 'deal' }),
    ];
    const c = cfg('second_price', { reserve_cpm_micros: 1_000_000 });
    expect(prices(bids, c)).toEqual([['deal1', 0, 3_000_000]]);
    expect(reasons(bids, c)).toEqual([
      ['open', LossReason.LostToDeal],
      ['deal2', LossReason.LostToHigherBid],
    ]);
  });

  it('a deal pays at least its deal floor, and a deal bid under it loses with 101', () => {
    const bids = [
      cpm('d1', 5_000_000, { tier: 'deal', deal_floor_cpm_micros: 4_000_000 }),
      cpm('d2', 3_000_000, { tier: 'deal', deal_floor_cpm_micros: 3_500_000 }),
    ];
    const c = cfg('gsp');
    expect(prices(bids, c)).toEqual([['d1', 0, 4_000_000]]);
    expect(reasons(bids, c)).toEqual([['d2', LossReason.BelowDealFloor]]);
  });

  it('the deal floor replaces the impression floor for deal bids (RULES.md rule 46); the reserve stays', () => {
    const deal = cpm('d', 2_000_000, { tier: 'deal', deal_floor_cpm_micros: 1_000_000 });
    const open = cpm('o', 2_500_000);
    const c = cfg('gsp', { floor_cpm_micros: 3_000_000 });
    expect(prices([deal, open], c)).toEqual([['d', 0, 1_000_000]]);
    expect(reasons([deal, open], c)).toEqual([['o', LossReason.BelowAuctionFloor]]);
    const withReserve = cfg('gsp', { floor_cpm_micros: 3_000_000, reserve_cpm_micros: 2_500_000 });
    expect(reasons([deal], withReserve)).toEqual([['d', LossReason.BelowAuctionFloor]]);
  });

  it('fills slots tier by tier: guaranteed first, then deals, then open, each priced in its tier', () => {
    const bids = [
      cpm('o1', 8_000_000),
      cpm('o2', 7_000_000),
      cpm('o3', 5_000_000),
      cpm('g', 2_000_000, { tier: 'guaranteed' }),
      cpm('d', 3_000_000, { tier: 'deal' }),
    ];
    const c = cfg('gsp', { slot_factors: [1, 0.8, 0.6, 0.4], reserve_cpm_micros: 1_000_000 });
    expect(prices(bids, c)).toEqual([
      ['g', 0, 2_000_000], // booked rate
      ['d', 1, 1_000_000], // the only deal: the reserve
      ['o1', 2, 7_000_000], // next open bid
      ['o2', 3, 5_000_000],
    ]);
    expect(reasons(bids, c)).toEqual([['o3', LossReason.LostToDeal]]);
  });

  it('house ads fill only when no paid bid clears, for free and regardless of the reserve', () => {
    const house = [cpm('h1', 0, { tier: 'house' }), cpm('h2', 100_000, { tier: 'house' })];
    const c = cfg('second_price', { reserve_cpm_micros: 2_000_000 });
    expect(prices([cpm('paid', 1_000_000), ...house], c)).toEqual([['h2', 0, 0]]);
    expect(reasons([cpm('paid', 1_000_000), ...house], c)).toEqual([
      ['paid', LossReason.BelowAuctionFloor],
      ['h1', LossReason.LostToHigherBid],
    ]);
    expect(prices([cpm('paid', 3_000_000), ...house], c)).toEqual([['paid', 0, 2_000_000]]);
    expect(reasons([cpm('paid', 3_000_000), ...house], c)).toEqual([
      ['h1', LossReason.LostToHigherBid],
      ['h2', LossReason.LostToHigherBid],
    ]);
  });

  it('house ads fill the slots that paid demand left, slot by slot', () => {
    const bids = [cpm('h', 0, { tier: 'house' }), cpm('paid', 3_000_000)];
    expect(prices(bids, cfg('gsp', { slot_factors: [1, 0.5] }))).toEqual([
      ['paid', 0, 0],
      ['h', 1, 0],
    ]);
  });

  it('a house ad that out-ranks a paid winner on eCPM loses with 500, not 102', () => {
    const bids = [cpm('h', 9_000_000, { tier: 'house' }), cpm('paid', 3_000_000)];
    expect(reasons(bids, cfg('gsp'))).toEqual([['h', LossReason.LostToHigherPriority]]);
  });
});

describe('ties (issue 3 item 6)', () => {
  const tied = [cpm('b', 5_000_000), cpm('a', 5_000_000), cpc('c', 500_000, 0.01)];

  it('default: equal eCPM → higher raw bid → lower id, independent of input order', () => {
    const ids = (bids: AuctionBid[]) =>
      runAuction(bids, cfg('gsp', { slot_factors: [1, 1, 1] })).winners.map((w) => w.id);
    expect(ids(tied)).toEqual(['a', 'b', 'c']);
    expect(ids([...tied].reverse())).toEqual(['a', 'b', 'c']);
    // c's raw bid (500_000 per click) is lower than a's and b's 5_000_000 CPM.
    const withBigCpc = [...tied, cpc('z', 50_000_000, 0.0001)];
    expect(ids(withBigCpc)).toEqual(['z', 'a', 'b']);
  });

  it('a tied runner-up sets the price: the winner pays its own eCPM', () => {
    expect(prices(tied, cfg('second_price'))).toEqual([['a', 0, 5_000_000]]);
  });

  it('treats products of decimals that are equal in exact arithmetic as ties (3 × 0.1 vs 0.3)', () => {
    // 3_000_000 × 0.1 × 1000 and 1_000_000 × 0.3 × 1000 differ in the last bit of a double.
    const bids = [cpc('x', 1_000_000, 0.3), cpc('w', 3_000_000, 0.1)];
    const out = runAuction(bids, cfg('gsp'));
    expect(out.winners[0]?.id).toBe('w'); // tie → higher raw bid
    expect(out.winners[0]?.price_micros).toBe(3_000_000);
  });

  it('seeded: replayable, independent of input order, and spreads wins across tied bidders', () => {
    const four = ['p', 'q', 'r', 's'].map((id) => cpm(id, 5_000_000));
    const winner = (bids: AuctionBid[], seed: number) =>
      runAuction(bids, cfg('gsp', { tie_break: { kind: 'seeded', seed } })).winners[0]?.id;
    const wins = new Map<string, number>();
    for (let seed = 0; seed < 400; seed++) {
      const w = winner(four, seed) as string;
      expect(winner([...four].reverse(), seed)).toBe(w);
      expect(winner(four, seed)).toBe(w);
      wins.set(w, (wins.get(w) ?? 0) + 1);
    }
    // Each of 4 tied bidders should win about 100 of 400; all must win a fair share.
    for (const id of ['p', 'q', 'r', 's']) expect(wins.get(id) ?? 0).toBeGreaterThan(60);
  });

  it('seeded tie-break never overrides a higher eCPM', () => {
    const bids = [cpm('low', 4_999_999), cpm('high', 5_000_000)];
    for (let seed = 0; seed < 50; seed++) {
      const c = cfg('gsp', { tie_break: { kind: 'seeded', seed } });
      expect(runAuction(bids, c).winners[0]?.id).toBe('high');
    }
  });
});

describe('loss reasons and invalid bids (issue 3 item 7)', () => {
  it('gives every bid exactly one outcome, losers in input order', () => {
    const bids = [
      cpm('lost', 2_000_000),
      cpm('floor', 500_000),
      cpc('bad-ctr', 1_000_000, 0),
      cpm('won', 3_000_000),
      cpm('fraction', 1.5),
      cpm('zero', 0),
    ];
    const out = runAuction(bids, cfg('gsp', { reserve_cpm_micros: 1_000_000 }));
    expect(out.winners.map((w) => w.id)).toEqual(['won']);
    expect(out.losers.map((l) => [l.id, l.reason])).toEqual([
      ['lost', LossReason.LostToHigherBid],
      ['floor', LossReason.BelowAuctionFloor],
      ['bad-ctr', LossReason.InvalidBidResponse],
      ['fraction', LossReason.InvalidBidResponse],
      ['zero', LossReason.BelowAuctionFloor],
    ]);
  });

  it('rejects a bid with eCPM 0 even with no reserve (it would clear at nothing)', () => {
    expect(reasons([cpm('zero', 0)], cfg('first_price'))).toEqual([
      ['zero', LossReason.BelowAuctionFloor],
    ]);
  });
});

describe('configuration errors', () => {
  it.each([
    ['no slots', { slot_factors: [] }, /must not be empty/],
    ['increasing slot factors', { slot_factors: [0.2, 0.3] }, /non-increasing/],
    ['slot factor above 1', { slot_factors: [1.5] }, /\(0, 1\]/],
    ['slot factor 0', { slot_factors: [1, 0] }, /\(0, 1\]/],
    ['negative reserve', { reserve_cpm_micros: -1 }, /reserve_cpm_micros/],
    ['fractional increment', { increment_micros: 0.5 }, /increment_micros/],
    ['unknown mechanism', { mechanism: 'dutch' as Mechanism }, /unknown mechanism/],
    ['non-integer seed', { tie_break: { kind: 'seeded' as const, seed: 0.5 } }, /seed/],
  ])('%s', (_name, over, message) => {
    expect(() => runAuction([], cfg('gsp', over))).toThrow(AuctionConfigError);
    expect(() => runAuction([], cfg('gsp', over))).toThrow(message);
  });
});

describe('tier order and reason names', () => {
  it('tierIndexOf follows TIERS, the waterfall order', () => {
    expect(TIERS.map(tierIndexOf)).toEqual([0, 1, 2, 3]);
    expect(tierIndexOf('vip' as Tier)).toBe(-1);
  });

  it('names loss reasons in snake_case for logs', () => {
    expect([102, 103, 500, 214].map((c) => lossReasonName(c as LossReason))).toEqual([
      'lost_to_higher_bid',
      'lost_to_deal',
      'lost_to_higher_priority',
      'creative_filtered_invalid_skadnetwork',
    ]);
  });
});
