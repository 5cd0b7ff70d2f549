/** The per-tree histogram plan shared by the serial and the parallel histogram engines. */
import type { Bundle } from './binning.js';
import { unbundle } from './histogram.js';

/**
 * What a tree builds histograms of: `units[0..numUnits)` are binned-matrix columns (features not
 * in a bundle, then bundle columns numFeatures + i); `selectedBundles` are unbundled after each
 * build into their members' histograms.
 */
export interface BuildPlan {
  units: Int32Array;
  numUnits: number;
  selectedBundles: number[];
  bundles: readonly Bundle[];
  numFeatures: number;
  valueBins: Int32Array;
}

export function unbundleAll(
  plan: BuildPlan,
  hist: Float64Array,
  base: number,
  g: number,
  h: number,
  c: number,
): void {
  for (const b of plan.selectedBundles) {
    const bd = plan.bundles[b]!;
    unbundle(
      hist,
      base,
      plan.numFeatures + b,
      bd.members,
      bd.defaultBin,
      bd.code,
      plan.valueBins,
      g,
      h,
      c,
    );
  }
}
