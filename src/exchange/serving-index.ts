/**
 * ServingIndex: the in-memory copy of what the decision path reads (active campaigns, approved
 * creatives, active placements), refreshed from the CampaignStore on an interval and right
 * after management writes in this process. A failed refresh keeps the previous snapshot:
 * slightly stale inventory is acceptable (seed Part 1, "bounded staleness"), an empty one is not.
 */
import type { Campaign, Creative, Placement } from '../core/domain/entities.js';
import type { CampaignStore, ServingSnapshot } from '../ports/campaign-store.js';

export interface ServingView {
  campaigns: readonly Campaign[];
  placementsById: ReadonlyMap<string, Placement>;
  creativesByCampaign: ReadonlyMap<string, readonly Creative[]>;
  loadedAtMs: number;
}

function buildView(s: ServingSnapshot, loadedAtMs: number): ServingView {
  const creativesByCampaign = new Map<string, Creative[]>();
  for (const cr of s.creatives) {
    const list = creativesByCampaign.get(cr.campaign_id);
    if (list === undefined) creativesByCampaign.set(cr.campaign_id, [cr]);
    else list.push(cr);
  }
  return {
    campaigns: s.campaigns,
    placementsById: new Map(s.placements.map((p) => [p.id, p])),
    creativesByCampaign,
    loadedAtMs,
  };
}

export interface ServingIndexDeps {
  store: CampaignStore;
  nowMs: () => number;
  onError?: (e: unknown) => void;
}

export class ServingIndex {
  private view: ServingView = buildView({ campaigns: [], creatives: [], placements: [] }, 0);
  private timer: NodeJS.Timeout | null = null;
  private refreshing: Promise<void> | null = null;
  private again = false;

  constructor(private readonly deps: ServingIndexDeps) {}

  current(): ServingView {
    return this.view;
  }

  /** Loads a new snapshot; concurrent calls share one load, and a call during a load queues one more. */
  refresh(): Promise<void> {
    if (this.refreshing !== null) {
      this.again = true;
      return this.refreshing;
    }
    this.refreshing = (async () => {
      do {
        this.again = false;
        const snapshot = await this.deps.store.loadServingSnapshot();
        this.view = buildView(snapshot, this.deps.nowMs());
      } while (this.again);
    })().finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  start(intervalMs: number): void {
    this.timer = setInterval(() => {
      this.refresh().catch((e: unknown) => this.deps.onError?.(e));
    }, intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }
}
