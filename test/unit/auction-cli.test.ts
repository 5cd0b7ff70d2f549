/**
 * `adstack auction` (issue 3 item 8), in-process through runAuctionCommand: stdin text in, exit
 * status and stdout/stderr out. The process wrapper (auctionAction) only moves bytes.
 */
import { describe, expect, it } from 'vitest';
import { parseAuctionInput, runAuctionCommand, stripJsonComments } from '../../src/cli/auction.js';

const run = (input: unknown, explain = false) =>
  runAuctionCommand(typeof input === 'string' ? input : JSON.stringify(input), { explain });

// The issue's example input, comments included.
const ISSUE_EXAMPLE = `
{"mechanism": "gsp",            // "gsp" | "vcg" | "first_price" | "second_price"
 "slots": [0.3, 0.2, 0.1],      // position factors; default [1]
 "reserve_cpm": 0.5,            // optional, default 0
 "increment": 0.01,             // optional, default 0
 "bids": [{"id": "A", "bid": 10.0, "model": "cpc", "ctr": 0.2},
          {"id": "B", "bid": 2.5, "model": "cpm"},
          {"id": "C", "bid": 40, "model": "cpa", "ctr": 0.02, "cvr": 0.05}]}
`;

describe('adstack auction: the contract', () => {
  it("runs the issue's example input as written (comments allowed)", () => {
    // eCPM: A 10 × 0.2 × 1000 = 2000, C 40 × 0.02 × 0.05 × 1000 = 40, B 2.5.
    // GSP + $0.01: A pays C's 40 eCPM → 40 / 200 = $0.20 + 0.01 per click;
    // C pays B's 2.5 → 2.5 / 1 = $2.50 + 0.01 per action; B pays the 0.5 reserve + 0.01 per mille.
    const out = run(ISSUE_EXAMPLE);
    expect(out.stderr).toBe('');
    expect(out.exitCode).toBe(0);
    expect(out.stdout).toBe(
      '{"winners":[{"id":"A","slot":0,"price":0.21},{"id":"C","slot":1,"price":2.51},{"id":"B","slot":2,"price":0.51}]}\n',
    );
  });

  it('defaults: one slot, no reserve, no increment', () => {
    const out = run({ mechanism: 'second_price', bids: [{ id: 'x', bid: 1.25, model: 'cpm' }] });
    expect(JSON.parse(out.stdout)).toEqual({ winners: [{ id: 'x', slot: 0, price: 0 }] });
  });

  it('prices in the winner’s own unit, rounded to 6 decimals', () => {
    const out = run({
      mechanism: 'vcg',
      slots: [0.3, 0.2, 0.1],
      bids: [
        { id: 'A', bid: 10, model: 'cpc', ctr: 0.2 },
        { id: 'B', bid: 8, model: 'cpc', ctr: 0.25 },
        { id: 'C', bid: 12, model: 'cpc', ctr: 0.1 },
        { id: 'D', bid: 6, model: 'cpc', ctr: 0.15 },
      ],
    });
    expect(out.stdout).toBe(
      '{"winners":[{"id":"A","slot":0,"price":6.833333},{"id":"B","slot":1,"price":4.2},{"id":"C","slot":2,"price":9}]}\n',
    );
  });

  it('prints {"winners": []} when nothing clears', () => {
    const out = run({
      mechanism: 'gsp',
      reserve_cpm: 5,
      bids: [{ id: 'a', bid: 1, model: 'cpm' }],
    });
    expect(out).toEqual({ exitCode: 0, stdout: '{"winners":[]}\n', stderr: '' });
    expect(run({ mechanism: 'gsp', bids: [] }).stdout).toBe('{"winners":[]}\n');
  });

  it('supports the tier extensions and a seeded tie-break', () => {
    const out = run({
      mechanism: 'second_price',
      seed: 7,
      bids: [
        { id: 'open', bid: 9, model: 'cpm' },
        { id: 'deal', bid: 4, model: 'cpm', tier: 'deal', deal_floor_cpm: 3 },
      ],
    });
    expect(JSON.parse(out.stdout)).toEqual({ winners: [{ id: 'deal', slot: 0, price: 3 }] });
  });

  it('--explain adds eCPMs, clearing prices and every loser with its IAB loss reason', () => {
    const out = run(
      {
        mechanism: 'gsp',
        reserve_cpm: 1,
        bids: [
          { id: 'A', bid: 5, model: 'cpc', ctr: 0.1 },
          { id: 'B', bid: 4, model: 'cpc', ctr: 0.15 },
          { id: 'low', bid: 0.5, model: 'cpm' },
        ],
      },
      true,
    );
    expect(JSON.parse(out.stdout)).toEqual({
      winners: [
        {
          id: 'B',
          slot: 0,
          price: 3.333333,
          tier: 'open',
          model: 'cpc',
          ecpm: 600,
          clearing_ecpm: 500,
        },
      ],
      losers: [
        { id: 'A', tier: 'open', ecpm: 500, reason: 102, reason_name: 'lost_to_higher_bid' },
        { id: 'low', tier: 'open', ecpm: 0.5, reason: 100, reason_name: 'below_auction_floor' },
      ],
    });
  });
});

describe('adstack auction: invalid input exits 2 with a message naming the problem', () => {
  const bid = { id: 'a', bid: 1, model: 'cpm' };
  it.each([
    ['empty input', '', /no input/],
    ['not JSON', '{"mechanism": gsp}', /not valid JSON/],
    ['unterminated comment', '{"mechanism": "gsp" /* oops', /unterminated/],
    ['an array', [], /must be a JSON object/],
    ['missing mechanism', { bids: [bid] }, /mechanism is required/],
    ['unknown mechanism', { mechanism: 'dutch', bids: [bid] }, /unknown mechanism "dutch"/],
    ['unknown field', { mechanism: 'gsp', reserve: 1, bids: [bid] }, /unknown field "reserve"/],
    ['missing bids', { mechanism: 'gsp' }, /bids is required/],
    ['bids not an array', { mechanism: 'gsp', bids: {} }, /bids is required/],
    ['empty slots', { mechanism: 'gsp', slots: [], bids: [bid] }, /slots must be a non-empty/],
    [
      'increasing slot factors',
      { mechanism: 'gsp', slots: [0.2, 0.3], bids: [bid] },
      /slots must be non-increasing.*slots\[1\] = 0.3/,
    ],
    ['slot factor 0', { mechanism: 'gsp', slots: [1, 0], bids: [bid] }, /slots\[1\].*\(0, 1\]/],
    ['slot factor above 1', { mechanism: 'gsp', slots: [2], bids: [bid] }, /slots\[0\]/],
    ['slot factor a string', { mechanism: 'gsp', slots: ['1'], bids: [bid] }, /slots\[0\]/],
    [
      'negative reserve',
      { mechanism: 'gsp', reserve_cpm: -1, bids: [bid] },
      /reserve_cpm must be ≥ 0/,
    ],
    ['negative increment', { mechanism: 'gsp', increment: -0.01, bids: [bid] }, /increment/],
    ['non-integer seed', { mechanism: 'gsp', seed: 1.5, bids: [bid] }, /seed must be an integer/],
    ['bid not an object', { mechanism: 'gsp', bids: [3] }, /bids\[0\] must be an object/],
    [
      'negative bid',
      { mechanism: 'gsp', bids: [{ ...bid, bid: -2 }] },
      /bids\[0\]\.bid must be ≥ 0/,
    ],
    [
      'bid as a string',
      { mechanism: 'gsp', bids: [{ ...bid, bid: '2' }] },
      /bids\[0\]\.bid must be a number/,
    ],
    [
      'missing bid',
      { mechanism: 'gsp', bids: [{ id: 'a', model: 'cpm' }] },
      /bids\[0\]\.bid is required/,
    ],
    ['huge bid', { mechanism: 'gsp', bids: [{ ...bid, bid: 1e12 }] }, /at most/],
    ['missing id', { mechanism: 'gsp', bids: [{ bid: 1, model: 'cpm' }] }, /bids\[0\]\.id/],
    [
      'duplicate id',
      { mechanism: 'gsp', bids: [bid, bid] },
      /bids\[1\]\.id "a" is used by an earlier bid/,
    ],
    ['unknown model', { mechanism: 'gsp', bids: [{ ...bid, model: 'cpv' }] }, /bids\[0\]\.model/],
    [
      'missing ctr for cpc',
      { mechanism: 'gsp', bids: [{ id: 'a', bid: 1, model: 'cpc' }] },
      /bids\[0\]\.ctr is required for a cpc bid/,
    ],
    [
      'missing cvr for cpa',
      { mechanism: 'gsp', bids: [{ id: 'a', bid: 1, model: 'cpa', ctr: 0.1 }] },
      /bids\[0\]\.cvr is required for a cpa bid/,
    ],
    [
      'ctr 0',
      { mechanism: 'gsp', bids: [{ id: 'a', bid: 1, model: 'cpc', ctr: 0 }] },
      /bids\[0\]\.ctr must be a probability in \(0, 1\]/,
    ],
    [
      'ctr above 1',
      { mechanism: 'gsp', bids: [{ id: 'a', bid: 1, model: 'cpc', ctr: 1.5 }] },
      /bids\[0\]\.ctr must be a probability/,
    ],
    [
      'cvr negative',
      { mechanism: 'gsp', bids: [{ id: 'a', bid: 1, model: 'cpa', ctr: 0.1, cvr: -0.1 }] },
      /bids\[0\]\.cvr must be a probability/,
    ],
    [
      'ctr on a cpm bid out of range',
      { mechanism: 'gsp', bids: [{ ...bid, ctr: 2 }] },
      /bids\[0\]\.ctr must be a probability/,
    ],
    ['unknown tier', { mechanism: 'gsp', bids: [{ ...bid, tier: 'vip' }] }, /bids\[0\]\.tier/],
    [
      'deal floor outside the deal tier',
      { mechanism: 'gsp', bids: [{ ...bid, deal_floor_cpm: 1 }] },
      /deal_floor_cpm is only allowed with "tier": "deal"/,
    ],
    [
      'unknown bid field',
      { mechanism: 'gsp', bids: [{ ...bid, price: 1 }] },
      /bids\[0\]: unknown field "price"/,
    ],
  ])('%s', (_name, input, message) => {
    const out = run(input);
    expect(out.exitCode).toBe(2);
    expect(out.stdout).toBe('');
    expect(out.stderr).toMatch(/^adstack auction: invalid input: /);
    expect(out.stderr).toMatch(message);
  });
});

describe('input parsing details', () => {
  it('rounds decimal amounts half-up to micros at the boundary', () => {
    const { bids, config } = parseAuctionInput(
      JSON.stringify({
        mechanism: 'gsp',
        reserve_cpm: 0.1250005,
        increment: 0.0000005,
        bids: [{ id: 'a', bid: 3.3333335, model: 'cpm' }],
      }),
    );
    expect(bids[0]?.bid_micros).toBe(3_333_334);
    expect(config.reserve_cpm_micros).toBe(125_001);
    expect(config.increment_micros).toBe(1);
  });

  it('strips comments only outside strings', () => {
    expect(stripJsonComments('{"a": "x//y", /* c */ "b": "/*z*/" // end\n}')).toBe(
      '{"a": "x//y",   "b": "/*z*/" \n}',
    );
    expect(stripJsonComments('{"a": "q\\"//"}')).toBe('{"a": "q\\"//"}');
  });
});
