/**
 * The `adstack predict` contract, independent of process stdin/stdout so it can be tested:
 * each non-blank input line is a JSON array of the model's features in order (`null` =
 * missing); each produces one output line with the probability, in input order. A bad line
 * stops the stream with a `PredictInputError` naming the line.
 */
import type { Scorer } from '../core/scoring/scorer.js';

export class PredictInputError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(`line ${line}: ${message}`);
    this.name = 'PredictInputError';
  }
}

export async function predictLines(
  scorer: Scorer,
  lines: AsyncIterable<string> | Iterable<string>,
  write: (chunk: string) => void,
  chunk = 1024,
): Promise<number> {
  const nf = scorer.numFeatures;
  const rows = new Float64Array(chunk * nf);
  const buf = new Float64Array(chunk);
  let n = 0;
  let lineNo = 0;
  let total = 0;
  const flush = (): void => {
    if (n === 0) return;
    scorer.predictBatch(rows, n, buf);
    let s = '';
    // `${x}` prints the shortest decimal that reads back as the same double: no precision lost.
    for (let i = 0; i < n; i++) s += `${buf[i]}\n`;
    write(s);
    total += n;
    n = 0;
  };
  for await (const line of lines) {
    lineNo++;
    if (line.trim() === '') continue;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch {
      throw new PredictInputError(lineNo, 'not JSON');
    }
    if (!Array.isArray(v) || v.length !== nf)
      throw new PredictInputError(lineNo, `expected a JSON array of ${nf} values (null = missing)`);
    for (let f = 0; f < nf; f++) {
      const x: unknown = v[f];
      if (x === null) rows[n * nf + f] = NaN;
      else if (typeof x === 'number') rows[n * nf + f] = x;
      else throw new PredictInputError(lineNo, `value ${f} is neither a number nor null`);
    }
    if (++n === chunk) flush();
  }
  flush();
  return total;
}
