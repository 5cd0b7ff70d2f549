/**
 * The CTR data-set file (`*.ctr`): a small binary layout that Node and NumPy can both map
 * without parsing, because 1,000,000 rows × ~150 features would be about 1.2 GB as CSV.
 *
 *   bytes 0..7    magic "ADSCTR01"
 *   bytes 8..11   header length H (uint32 little-endian)
 *   12..12+H      header JSON (UTF-8), padded with spaces so the data starts at a multiple of 8
 *   then          features: rows × numFeatures float32 LE, row-major, NaN = missing
 *                 labels:   rows uint8 (0/1)
 *                 pTrue:    rows float32 LE (NaN when unknown)
 *
 * NumPy reads it with `np.frombuffer(buf, np.float32, count, offset)` (bench/ml.bench.mjs).
 */
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import type { CtrDataset } from './synthetic.js';

const MAGIC = 'ADSCTR01';

export interface DatasetHeader {
  rows: number;
  numFeatures: number;
  featureNames: readonly string[];
  schemaHash: string;
  meta: Readonly<Record<string, unknown>>;
  /** Byte offsets of the three arrays, so other readers need no arithmetic. */
  featuresOffset: number;
  labelsOffset: number;
  pTrueOffset: number;
}

function headerBytes(ds: CtrDataset): { bytes: Buffer; header: DatasetHeader } {
  const base = {
    rows: ds.numRows,
    numFeatures: ds.numFeatures,
    featureNames: ds.featureNames,
    schemaHash: ds.schemaHash,
    meta: ds.meta,
  };
  // Offsets depend on the header's own length; two passes settle it (offsets only grow digits).
  let header: DatasetHeader = { ...base, featuresOffset: 0, labelsOffset: 0, pTrueOffset: 0 };
  let json = '';
  for (let pass = 0; pass < 3; pass++) {
    json = JSON.stringify(header);
    const start = Math.ceil((12 + Buffer.byteLength(json) + 16) / 8) * 8;
    const labelsOffset = start + ds.numRows * ds.numFeatures * 4;
    const pTrueOffset = Math.ceil((labelsOffset + ds.numRows) / 8) * 8;
    header = { ...base, featuresOffset: start, labelsOffset, pTrueOffset };
  }
  json = JSON.stringify(header);
  const pad = header.featuresOffset - 12 - Buffer.byteLength(json);
  if (pad < 0) throw new Error('dataset header layout did not converge');
  return { bytes: Buffer.from(json + ' '.repeat(pad), 'utf8'), header };
}

export function writeDataset(path: string, ds: CtrDataset): void {
  const { bytes, header } = headerBytes(ds);
  const fd = openSync(path, 'w');
  try {
    const pre = Buffer.alloc(12);
    pre.write(MAGIC, 0, 'latin1');
    pre.writeUInt32LE(bytes.length, 8);
    writeSync(fd, pre);
    writeSync(fd, bytes);
    // Write the big array in slices; one write of > 2 GiB fails on Linux.
    const f = Buffer.from(ds.features.buffer, ds.features.byteOffset, ds.features.byteLength);
    for (let at = 0; at < f.length; at += 1 << 26)
      writeSync(fd, f.subarray(at, Math.min(f.length, at + (1 << 26))));
    writeSync(fd, Buffer.from(ds.labels.buffer, ds.labels.byteOffset, ds.labels.byteLength));
    writeSync(fd, Buffer.alloc(header.pTrueOffset - header.labelsOffset - ds.numRows));
    writeSync(fd, Buffer.from(ds.pTrue.buffer, ds.pTrue.byteOffset, ds.pTrue.byteLength));
  } finally {
    closeSync(fd);
  }
}

export function readDataset(path: string): CtrDataset & { header: DatasetHeader } {
  const buf = readFileSync(path);
  if (buf.length < 12 || buf.toString('latin1', 0, 8) !== MAGIC)
    throw new Error(`${path}: not an adstack CTR data set (bad magic)`);
  const hlen = buf.readUInt32LE(8);
  const header = JSON.parse(buf.toString('utf8', 12, 12 + hlen)) as DatasetHeader;
  const { rows, numFeatures } = header;
  if (buf.length < header.pTrueOffset + rows * 4) throw new Error(`${path}: file is truncated`);
  // Typed-array views need aligned offsets; a pooled Buffer may not start at one, so copy then.
  const aligned = buf.byteOffset % 8 === 0 ? buf : Buffer.from(buf);
  const ab = aligned.buffer;
  const o = aligned.byteOffset;
  return {
    header,
    numRows: rows,
    numFeatures,
    features: new Float32Array(ab, o + header.featuresOffset, rows * numFeatures),
    labels: new Uint8Array(ab, o + header.labelsOffset, rows),
    pTrue: new Float32Array(ab, o + header.pTrueOffset, rows),
    featureNames: header.featureNames,
    schemaHash: header.schemaHash,
    meta: header.meta,
  };
}

/** Rows [start, end) as views (no copy). */
export function sliceDataset(ds: CtrDataset, start: number, end: number): CtrDataset {
  const nf = ds.numFeatures;
  return {
    ...ds,
    numRows: end - start,
    features: ds.features.subarray(start * nf, end * nf),
    labels: ds.labels.subarray(start, end),
    pTrue: ds.pTrue.subarray(start, end),
  };
}
