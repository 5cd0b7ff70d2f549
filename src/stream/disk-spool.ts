/**
 * DiskSpool: a bounded, append-only queue of text records on local disk, for events the event
 * log cannot take right now (issue 7, "Backpressure": buffer in a bounded local spool, replay in
 * order, drop nothing silently).
 *
 * Implementation notes
 * - Records are lines (JSON has no raw newlines) in segment files `seg-<n>.jsonl` of at most
 *   `segmentBytes`; the read position is `cursor.json` ({segment, offset}), replaced atomically
 *   (write to a temporary file, then rename). Fully read segments are deleted.
 * - `append` resolves only after the bytes are on disk (`datasync`). Concurrent appends are
 *   group-committed: one write and one sync for everything queued meanwhile, as a database
 *   log does, so the spool keeps up with bursts.
 * - A crash can leave a torn last line (written, never synced, never acknowledged); `open`
 *   truncates the newest segment back to its last newline.
 * - At-least-once: a record is handed out by `peek` until `commit` moves the cursor past it, so
 *   a crash between replaying and committing replays again (the log deduplicates by event id,
 *   the ledger by event key).
 * - Bounded: `bytes` (unread bytes) plus a new record may not exceed `maxBytes`; `append`
 *   then rejects with SpoolFullError and the caller sheds.
 * - One process per spool directory. `openSpoolSlot` gives each process of a host (node:cluster
 *   workers) its own numbered slot under a base directory, locked by a pid file; a slot whose
 *   owner died is taken over by the next process that starts, which replays what it holds.
 */
import {
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  writeFile,
  type FileHandle,
} from 'node:fs/promises';
import { join } from 'node:path';

export class SpoolFullError extends Error {
  constructor(readonly maxBytes: number) {
    super(`event spool is full (${maxBytes} bytes)`);
    this.name = 'SpoolFullError';
  }
}

export interface DiskSpoolOptions {
  dir: string;
  /** Unread bytes allowed; default 256 MiB. */
  maxBytes?: number;
  /** Segment size before a new file is started; default 8 MiB. */
  segmentBytes?: number;
}

interface Cursor {
  segment: number;
  offset: number;
}

interface Pending {
  line: string;
  resolve: () => void;
  reject: (e: unknown) => void;
}

const SEGMENT = /^seg-(\d+)\.jsonl$/;
const segName = (n: number): string => `seg-${String(n).padStart(9, '0')}.jsonl`;

export class DiskSpool {
  private segments: { n: number; size: number }[] = [];
  private cursor: Cursor = { segment: 0, offset: 0 };
  private writer: FileHandle | null = null;
  private queue: Pending[] = [];
  private flushing: Promise<void> | null = null;
  private closed = false;
  private readonly maxBytes: number;
  private readonly segmentBytes: number;

  private constructor(
    private readonly dir: string,
    opts: DiskSpoolOptions,
  ) {
    this.maxBytes = opts.maxBytes ?? 256 * 1024 * 1024;
    this.segmentBytes = opts.segmentBytes ?? 8 * 1024 * 1024;
  }

  static async open(opts: DiskSpoolOptions): Promise<DiskSpool> {
    const s = new DiskSpool(opts.dir, opts);
    await mkdir(opts.dir, { recursive: true });
    await s.load();
    return s;
  }

  private async load(): Promise<void> {
    const names = (await readdir(this.dir)).filter((f) => SEGMENT.test(f)).sort();
    for (const f of names) {
      const n = Number(SEGMENT.exec(f)![1]);
      this.segments.push({ n, size: (await stat(join(this.dir, f))).size });
    }
    try {
      const c = JSON.parse(await readFile(join(this.dir, 'cursor.json'), 'utf8')) as Cursor;
      if (Number.isInteger(c.segment) && Number.isInteger(c.offset)) this.cursor = c;
    } catch {
      // No cursor yet: start at the oldest segment.
      this.cursor = { segment: this.segments[0]?.n ?? 0, offset: 0 };
    }
    // Segments before the cursor were fully replayed before a crash: remove them.
    for (const seg of this.segments.filter((x) => x.n < this.cursor.segment)) {
      await rm(join(this.dir, segName(seg.n)), { force: true });
    }
    this.segments = this.segments.filter((x) => x.n >= this.cursor.segment);
    const last = this.segments.at(-1);
    if (last !== undefined && last.size > 0) {
      // Drop a torn tail (bytes after the last newline were never acknowledged).
      const buf = await readFile(join(this.dir, segName(last.n)));
      const end = buf.lastIndexOf(0x0a) + 1;
      if (end < buf.length) {
        const fh = await open(join(this.dir, segName(last.n)), 'r+');
        await fh.truncate(end);
        await fh.close();
        last.size = end;
      }
    }
  }

  /** Unread bytes. */
  /** The bound on unread bytes. */
  get capacity(): number {
    return this.maxBytes;
  }

  get bytes(): number {
    let total = 0;
    for (const s of this.segments) total += s.size;
    const first = this.segments[0];
    if (first !== undefined && first.n === this.cursor.segment) total -= this.cursor.offset;
    return total + this.queue.reduce((n, p) => n + p.line.length + 1, 0);
  }

  get isEmpty(): boolean {
    return this.bytes === 0 && this.flushing === null;
  }

  /** Appends one record (no newlines); resolves once it is synced to disk. */
  append(record: string): Promise<void> {
    if (this.closed) return Promise.reject(new Error('spool is closed'));
    if (record.includes('\n'))
      return Promise.reject(new Error('a spool record may not contain a newline'));
    if (this.bytes + Buffer.byteLength(record) + 1 > this.maxBytes) {
      return Promise.reject(new SpoolFullError(this.maxBytes));
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ line: record, resolve, reject });
      this.flushing ??= this.flush();
    });
  }

  private async flush(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue;
      this.queue = [];
      try {
        const data = Buffer.from(batch.map((p) => `${p.line}\n`).join(''));
        const fh = await this.currentWriter(data.length);
        await fh.write(data);
        await fh.datasync();
        this.segments.at(-1)!.size += data.length;
        for (const p of batch) p.resolve();
      } catch (e) {
        for (const p of batch) p.reject(e);
      }
    }
    this.flushing = null;
  }

  private async currentWriter(incoming: number): Promise<FileHandle> {
    const last = this.segments.at(-1);
    if (this.writer !== null && last !== undefined && last.size + incoming <= this.segmentBytes) {
      return this.writer;
    }
    if (this.writer !== null) await this.writer.close();
    const n = last === undefined ? this.cursor.segment : last.size === 0 ? last.n : last.n + 1;
    if (last === undefined || last.n !== n) this.segments.push({ n, size: 0 });
    this.writer = await open(join(this.dir, segName(n)), 'a');
    return this.writer;
  }

  /**
   * Up to `max` records from the read position, oldest first, and the position after them
   * (pass it to `commit` once they are safely elsewhere).
   */
  async peek(max: number): Promise<{ records: string[]; next: Cursor }> {
    const records: string[] = [];
    let { segment, offset } = this.cursor;
    for (const seg of this.segments) {
      if (seg.n < segment) continue;
      if (seg.n > segment) {
        segment = seg.n;
        offset = 0;
      }
      if (offset >= seg.size) continue;
      const fh = await open(join(this.dir, segName(seg.n)), 'r');
      try {
        const want = Math.min(seg.size - offset, 1024 * 1024);
        const buf = Buffer.alloc(want);
        const { bytesRead } = await fh.read(buf, 0, want, offset);
        let start = 0;
        for (let i = 0; i < bytesRead && records.length < max; i++) {
          if (buf[i] !== 0x0a) continue;
          records.push(buf.subarray(start, i).toString('utf8'));
          start = i + 1;
        }
        offset += start;
      } finally {
        await fh.close();
      }
      if (records.length >= max) break;
      if (offset < seg.size) break; // a record longer than the read chunk: next call
    }
    return { records, next: { segment, offset } };
  }

  /** Moves the read position (durably) and deletes segments read to the end. */
  async commit(next: Cursor): Promise<void> {
    this.cursor = next;
    const tmp = join(this.dir, 'cursor.json.tmp');
    await writeFile(tmp, JSON.stringify(next));
    await rename(tmp, join(this.dir, 'cursor.json'));
    const writing = this.segments.at(-1)?.n;
    for (const seg of [...this.segments]) {
      const done = seg.n < next.segment || (seg.n === next.segment && next.offset >= seg.size);
      if (done && seg.n !== writing) {
        await rm(join(this.dir, segName(seg.n)), { force: true });
        this.segments = this.segments.filter((x) => x !== seg);
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    while (this.flushing !== null) await this.flushing;
    if (this.writer !== null) await this.writer.close();
    this.writer = null;
  }
}

const MAX_SLOTS = 256;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Opens the first free slot `<base>/<k>` (k = 0, 1, …): free means no lock file, or a lock
 * file naming a process that no longer runs. The lock is removed by `release()`.
 * Limitation: two processes starting at the same moment could both take over the same dead
 * owner's slot (check-then-write); startup of cluster workers is staggered in practice.
 */
export async function openSpoolSlot(
  base: string,
  opts: Omit<DiskSpoolOptions, 'dir'> = {},
): Promise<{ spool: DiskSpool; dir: string; release(): Promise<void> }> {
  for (let k = 0; k < MAX_SLOTS; k++) {
    const dir = join(base, String(k));
    await mkdir(dir, { recursive: true });
    const lock = join(dir, 'lock');
    try {
      await writeFile(lock, String(process.pid), { flag: 'wx' });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const owner = Number(await readFile(lock, 'utf8').catch(() => ''));
      // Held by a running process (this one included: two runtimes in one process, as in tests).
      if (Number.isInteger(owner) && owner > 0 && alive(owner)) continue;
      await writeFile(lock, String(process.pid)); // a dead owner's slot: take it over
    }
    const spool = await DiskSpool.open({ ...opts, dir });
    return {
      spool,
      dir,
      async release() {
        await spool.close();
        await rm(lock, { force: true });
      },
    };
  }
  throw new Error(`no free spool slot under ${base} (${MAX_SLOTS} in use)`);
}
