import { appendFile, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DiskSpool, SpoolFullError, openSpoolSlot } from '../../src/stream/disk-spool.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'adstack-spool-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function drain(s: DiskSpool, batch = 7): Promise<string[]> {
  const out: string[] = [];
  for (;;) {
    const { records, next } = await s.peek(batch);
    if (records.length === 0) return out;
    out.push(...records);
    await s.commit(next);
  }
}

describe('DiskSpool', () => {
  it('hands records back in append order across segments and deletes read segments', async () => {
    const s = await DiskSpool.open({ dir, segmentBytes: 200 });
    const recs = Array.from({ length: 50 }, (_, i) =>
      JSON.stringify({ i, pad: 'x'.repeat(i % 13) }),
    );
    for (const r of recs) await s.append(r);
    expect((await readdir(dir)).filter((f) => f.startsWith('seg-')).length).toBeGreaterThan(3);
    expect(await drain(s)).toEqual(recs);
    expect(s.bytes).toBe(0);
    expect(s.isEmpty).toBe(true);
    // Only the segment still open for writing remains.
    expect((await readdir(dir)).filter((f) => f.startsWith('seg-')).length).toBe(1);
    await s.close();
  });

  it('group-commits concurrent appends and keeps their call order', async () => {
    const s = await DiskSpool.open({ dir });
    const recs = Array.from({ length: 1_000 }, (_, i) => `{"n":${i}}`);
    await Promise.all(recs.map((r) => s.append(r)));
    expect(await drain(s, 300)).toEqual(recs);
    await s.close();
  });

  it('keeps unread records and the read position across a restart', async () => {
    const a = await DiskSpool.open({ dir, segmentBytes: 100 });
    for (let i = 0; i < 20; i++) await a.append(`{"i":${i}}`);
    const { records, next } = await a.peek(5);
    await a.commit(next);
    expect(records).toEqual([0, 1, 2, 3, 4].map((i) => `{"i":${i}}`));
    const { records: peekedNotCommitted } = await a.peek(3); // read, but not committed
    expect(peekedNotCommitted[0]).toBe('{"i":5}');
    await a.close();
    const b = await DiskSpool.open({ dir, segmentBytes: 100 });
    expect(await drain(b)).toEqual(Array.from({ length: 15 }, (_, i) => `{"i":${i + 5}}`));
    await b.close();
  });

  it('drops a torn last line left by a crash (it was never acknowledged)', async () => {
    const a = await DiskSpool.open({ dir });
    await a.append('{"ok":1}');
    await a.close();
    const seg = (await readdir(dir)).find((f) => f.startsWith('seg-'))!;
    await appendFile(join(dir, seg), '{"torn":'); // a write cut short, no newline
    const b = await DiskSpool.open({ dir });
    await b.append('{"ok":2}');
    expect(await drain(b)).toEqual(['{"ok":1}', '{"ok":2}']);
    await b.close();
  });

  it('refuses past maxBytes with SpoolFullError, and accepts again once read', async () => {
    const s = await DiskSpool.open({ dir, maxBytes: 100 });
    await s.append('a'.repeat(60));
    await expect(s.append('b'.repeat(60))).rejects.toBeInstanceOf(SpoolFullError);
    await drain(s);
    await s.append('b'.repeat(60));
    expect(await drain(s)).toEqual(['b'.repeat(60)]);
    await s.close();
  });

  it('refuses a record with a newline', async () => {
    const s = await DiskSpool.open({ dir });
    await expect(s.append('a\nb')).rejects.toThrow(/newline/);
    await s.close();
  });
});

describe('openSpoolSlot', () => {
  it('gives each live owner its own slot and takes over the slot of a dead one', async () => {
    const a = await openSpoolSlot(dir);
    const b = await openSpoolSlot(dir);
    expect([a.dir, b.dir]).toEqual([join(dir, '0'), join(dir, '1')]);
    await b.spool.append('{"left":"behind"}');
    await b.spool.close();
    // b's process "dies": its lock names a pid that does not run.
    await writeFile(join(dir, '1', 'lock'), '999999999');
    const c = await openSpoolSlot(dir);
    expect(c.dir).toBe(join(dir, '1'));
    expect(await drain(c.spool)).toEqual(['{"left":"behind"}']);
    await a.release();
    await c.release();
    const d = await openSpoolSlot(dir);
    expect(d.dir).toBe(join(dir, '0')); // released slots are free again
    await d.release();
  });
});
