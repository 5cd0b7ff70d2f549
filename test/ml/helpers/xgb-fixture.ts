/** Reads the XGBoost parity fixtures made by test/fixtures/ml/make_xgboost_fixtures.py. */
import { readFileSync } from 'node:fs';

export interface XgbFixture {
  modelText: string;
  library: string;
  rows: Array<Array<number | null>>;
  predictions: number[];
  margins: number[];
}

const dir = new URL('../../fixtures/ml/', import.meta.url);

export function readFixtureText(name: string): string {
  return readFileSync(new URL(name, dir), 'utf8');
}

export function readXgbFixture(name: string): XgbFixture {
  const [head, ...lines] = readFixtureText(`${name}.rows.jsonl`).trim().split('\n');
  const meta = JSON.parse(head!) as { library: string };
  const rows = lines.map((l) => JSON.parse(l) as { x: Array<number | null>; p: number; m: number });
  return {
    modelText: readFixtureText(`${name}.model`),
    library: meta.library,
    rows: rows.map((r) => r.x),
    predictions: rows.map((r) => r.p),
    margins: rows.map((r) => r.m),
  };
}

/** Row-major float64 matrix, null → NaN. */
export function matrix(rows: Array<Array<number | null>>, nf: number): Float64Array {
  const m = new Float64Array(rows.length * nf);
  rows.forEach((row, r) => row.forEach((v, f) => (m[r * nf + f] = v ?? NaN)));
  return m;
}
