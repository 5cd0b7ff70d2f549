/**
 * API keys for the management API. One admin key (from config) sees everything; each
 * advertiser gets its own key when it is created, which sees and changes only its own objects.
 * Raw keys are never stored: the store keeps their SHA-256, and the admin key is compared as
 * a hash in constant time.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { AdsError } from '../../core/errors.js';
import type { CampaignStore } from '../../ports/campaign-store.js';

export type Principal = { role: 'admin' } | { role: 'advertiser'; advertiser_id: string };

export function hashKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

export function newApiKey(): string {
  return `ak_${randomBytes(24).toString('base64url')}`;
}

function presentedKey(req: FastifyRequest): string | undefined {
  const auth = req.headers.authorization;
  if (typeof auth === 'string' && auth.startsWith('Bearer ')) return auth.slice(7).trim();
  const x = req.headers['x-api-key'];
  return typeof x === 'string' ? x.trim() : undefined;
}

export class Authenticator {
  private readonly adminHash: Buffer;

  constructor(
    adminKey: string,
    private readonly store: CampaignStore,
  ) {
    this.adminHash = Buffer.from(hashKey(adminKey), 'hex');
  }

  async principal(req: FastifyRequest): Promise<Principal> {
    const key = presentedKey(req);
    if (key === undefined || key.length === 0 || key.length > 256) {
      throw new AdsError('ADS_ERR_UNAUTHENTICATED');
    }
    const hash = hashKey(key);
    if (timingSafeEqual(Buffer.from(hash, 'hex'), this.adminHash)) return { role: 'admin' };
    const found = await this.store.findApiKey(hash);
    if (found === null) throw new AdsError('ADS_ERR_UNAUTHENTICATED');
    if (found.advertiser_status === 'archived') {
      throw new AdsError(
        'ADS_ERR_UNAUTHENTICATED',
        'This advertiser is archived; its keys no longer work',
      );
    }
    return { role: 'advertiser', advertiser_id: found.advertiser_id };
  }
}
