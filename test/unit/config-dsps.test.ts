/** ADSTACK_DSPS: DSPs from inline JSON or a file, validated with errors naming the key. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/config.js';

const load = (dsps: string) => loadConfig({ ADSTACK_DSPS: dsps });
const problem = (dsps: string): string => {
  try {
    load(dsps);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error('expected a ConfigError');
};

describe('ADSTACK_DSPS', () => {
  it('is null when unset', () => {
    expect(loadConfig({}).dsps).toBeNull();
  });

  it('reads an inline list with bidder settings', () => {
    const c = load(
      '[{"id":"dsp-a","endpoint":"https://a.example/bid","currencies":["USD","EUR"],"bidAdjustment":0.9,"qpsCap":500,"gzip":true}]',
    );
    expect(c.dsps).toEqual({
      dsps: [
        {
          id: 'dsp-a',
          endpoint: 'https://a.example/bid',
          currencies: ['USD', 'EUR'],
          bidAdjustment: 0.9,
          qpsCap: 500,
          gzip: true,
        },
      ],
      decisionBudgetMs: null,
    });
  });

  it('reads a file with the object form and a decision budget', () => {
    const dir = mkdtempSync(join(tmpdir(), 'adstack-dsps-'));
    const file = join(dir, 'dsps.json');
    writeFileSync(
      file,
      JSON.stringify({
        decisionBudgetMs: 40,
        dsps: [{ id: 'b', endpoint: 'http://127.0.0.1:9000/', ortbVersion: '2.5' }],
      }),
    );
    expect(load(file).dsps).toEqual({
      dsps: [{ id: 'b', endpoint: 'http://127.0.0.1:9000/', ortbVersion: '2.5' }],
      decisionBudgetMs: 40,
    });
  });

  it('names the problem', () => {
    expect(problem('/nonexistent/dsps.json')).toMatch(
      /^ADSTACK_DSPS: cannot read the DSP file '\/nonexistent\/dsps.json': ENOENT/,
    );
    expect(problem('[{"id":"a",')).toMatch(/^ADSTACK_DSPS: not valid JSON/);
    expect(problem('[{"id":"a"}]')).toBe('ADSTACK_DSPS: dsps[0].endpoint: required');
    expect(problem('[{"id":"a","endpoint":"ftp://x/"}]')).toBe(
      'ADSTACK_DSPS: dsps[0].endpoint: expected an http or https URL',
    );
    expect(problem('[{"id":"a b","endpoint":"http://x/"}]')).toMatch(
      /dsps\[0\]\.id: expected 1 to 64/,
    );
    expect(problem('[{"id":"a","endpoint":"http://x/","bidAdjustmnet":1}]')).toMatch(
      /^ADSTACK_DSPS: dsps\[0\]\.bidAdjustmnet: unknown key/,
    );
    expect(problem('[{"id":"a","endpoint":"http://x/","currencies":["usd"]}]')).toMatch(
      /dsps\[0\]\.currencies: expected a non-empty list of ISO 4217/,
    );
    expect(problem('[{"id":"a","endpoint":"http://x/"},{"id":"a","endpoint":"http://y/"}]')).toBe(
      "ADSTACK_DSPS: dsps[1].id: 'a' is used twice",
    );
    expect(problem('{"dsps":[],"budget":3}')).toMatch(/unknown key 'budget'/);
    expect(problem('{"dsps":[],"decisionBudgetMs":0}')).toMatch(
      /decisionBudgetMs: expected an integer from 1 to 1000/,
    );
    expect(problem('"x"')).toMatch(/cannot read the DSP file/);
  });
});
