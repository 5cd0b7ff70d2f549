import type { Ledger, LedgerEvent } from '../../src/ports/ledger.js';

/** A ledger that fails while `down` is true (a PostgreSQL outage). */
export class FlakyLedger implements Ledger {
  down = false;
  /** Commit, then throw anyway: the writer cannot tell, as after a crash before the ack. */
  commitThenFail = 0;
  constructor(private readonly inner: Ledger) {}
  async record(e: LedgerEvent) {
    if (this.down) throw new Error('connection refused');
    const r = await this.inner.record(e);
    if (this.commitThenFail > 0) {
      this.commitThenFail--;
      throw new Error('connection reset after commit');
    }
    return r;
  }
  totals(f: Parameters<Ledger['totals']>[0]) {
    return this.inner.totals(f);
  }
  close() {
    return this.inner.close();
  }
}
