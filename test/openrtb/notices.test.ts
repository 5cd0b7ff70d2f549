import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  NoticeSender,
  type NoticeKind,
  type NoticeResult,
} from '../../src/exchange/rtb/notices.js';

describe('NoticeSender (RULES.md rules 56–57)', () => {
  let server: http.Server;
  let base = '';
  const hits = new Map<string, number>();
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const n = (hits.get(req.url ?? '') ?? 0) + 1;
      hits.set(req.url ?? '', n);
      // /flaky fails twice, then succeeds; /down always fails.
      const ok = req.url?.startsWith('/ok') || (req.url?.startsWith('/flaky') && n > 2);
      res.writeHead(ok ? 204 : 503).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => new Promise<void>((r) => server.close(() => r())));

  const collect = () => {
    const results: [NoticeKind, NoticeResult][] = [];
    let resolveNext: (() => void) | null = null;
    return {
      results,
      onResult: (k: NoticeKind, r: NoticeResult) => {
        results.push([k, r]);
        resolveNext?.();
      },
      next: () => new Promise<void>((r) => (resolveNext = r)),
    };
  };

  it('retries a billing notice until it gets 2xx; a loss notice is tried once', async () => {
    const c = collect();
    const s = new NoticeSender({
      timeoutMs: 1000,
      retries: 5,
      retryMs: 10,
      maxInFlight: 10,
      onResult: c.onResult,
    });
    let wait = c.next();
    s.fire('billing', `${base}/flaky?id=1`);
    await wait;
    wait = c.next();
    s.fire('loss', `${base}/down?id=2`);
    await wait;
    await s.close();
    expect(c.results).toEqual([
      ['billing', 'ok'],
      ['loss', 'http_error'],
    ]);
    expect(hits.get('/flaky?id=1')).toBe(3);
    expect(hits.get('/down?id=2')).toBe(1);
  });

  it('drops notices over the in-flight cap instead of queueing them', async () => {
    const c = collect();
    const s = new NoticeSender({
      timeoutMs: 1000,
      retries: 0,
      retryMs: 10,
      maxInFlight: 1,
      onResult: c.onResult,
    });
    s.fire('win', `${base}/ok?id=3`);
    s.fire('win', `${base}/ok?id=4`);
    expect(c.results).toEqual([['win', 'dropped']]);
    await s.close();
  });
});
