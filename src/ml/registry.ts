/**
 * Signed model artifacts and hot swap (issue 5 "Registry"; seed: the data-poisoning defence —
 * a model is only served if it was signed by the training pipeline's key).
 *
 * - A model file is signed with Ed25519 (RFC 8032, `node:crypto`) over its exact bytes; the
 *   signature sits beside it in `<file>.sig` as JSON {alg, keyId, signature}. Nothing inside the
 *   model file is signed separately, so there is no canonicalisation to get wrong.
 * - `ModelSlot` holds the model the server scores with. `load` verifies the signature against
 *   the trusted public keys, parses and validates the model and checks its feature-schema hash,
 *   then swaps the reference in one assignment: requests in flight keep the scorer they already
 *   read, later ones get the new one, none is dropped. A refused model (unsigned, bad signature,
 *   unknown key, corrupt, wrong schema) is reported, counted by reason, and the previous model
 *   stays in service.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { loadModelText, type LoadedModel, type ModelTarget } from './model-file.js';

export interface SignatureFile {
  alg: 'ed25519';
  /** First 16 hex digits of SHA-256 of the public key (SPKI DER): which key signed. */
  keyId: string;
  /** Base64 Ed25519 signature over the model file's bytes. */
  signature: string;
}

export type RejectReason =
  'unsigned' | 'unknown_key' | 'bad_signature' | 'invalid_model' | 'schema_mismatch' | 'unreadable';

export class ModelRejectedError extends Error {
  constructor(
    readonly reason: RejectReason,
    message: string,
  ) {
    super(message);
    this.name = 'ModelRejectedError';
  }
}

export function keyIdOf(publicKey: KeyObject): string {
  return createHash('sha256')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex')
    .slice(0, 16);
}

export function generateSigningKeys(): { privateKeyPem: string; publicKeyPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

export function signBytes(bytes: Uint8Array, privateKeyPem: string): SignatureFile {
  const key = createPrivateKey(privateKeyPem);
  if (key.asymmetricKeyType !== 'ed25519')
    throw new Error('model signing key must be an Ed25519 key');
  return {
    alg: 'ed25519',
    keyId: keyIdOf(createPublicKey(key)),
    signature: sign(null, bytes, key).toString('base64'),
  };
}

/** Writes `<path>.sig` for the file at `path`. */
export async function signModelFile(path: string, privateKeyPem: string): Promise<SignatureFile> {
  const sig = signBytes(await readFile(path), privateKeyPem);
  await writeFile(`${path}.sig`, JSON.stringify(sig));
  return sig;
}

/** Trusted public keys by key id. */
export function trustedKeys(publicKeyPems: readonly string[]): Map<string, KeyObject> {
  return new Map(
    publicKeyPems.map((pem) => {
      const k = createPublicKey(pem);
      if (k.asymmetricKeyType !== 'ed25519')
        throw new Error('trusted model keys must be Ed25519 keys');
      return [keyIdOf(k), k];
    }),
  );
}

/** Throws ModelRejectedError unless `sigText` is a valid signature of `bytes` by a trusted key. */
export function verifyBytes(
  bytes: Uint8Array,
  sigText: string | undefined,
  keys: ReadonlyMap<string, KeyObject>,
): void {
  if (sigText === undefined)
    throw new ModelRejectedError('unsigned', 'the model has no signature file');
  let sig: Partial<SignatureFile>;
  try {
    sig = JSON.parse(sigText) as Partial<SignatureFile>;
  } catch {
    throw new ModelRejectedError('bad_signature', 'the signature file is not JSON');
  }
  if (sig.alg !== 'ed25519' || typeof sig.signature !== 'string' || typeof sig.keyId !== 'string')
    throw new ModelRejectedError('bad_signature', 'the signature file is malformed');
  const key = keys.get(sig.keyId);
  if (key === undefined)
    throw new ModelRejectedError('unknown_key', `key ${sig.keyId} is not trusted`);
  if (!verify(null, bytes, key, Buffer.from(sig.signature, 'base64')))
    throw new ModelRejectedError('bad_signature', 'the signature does not match the model bytes');
}

export interface ModelSlotOptions {
  keys: ReadonlyMap<string, KeyObject>;
  /** The running feature schema's hash; adstack models must have been trained on it. */
  schemaHash: string;
  /** The running schema's feature count; every model (imported ones too) must take exactly it. */
  numFeatures: number;
  /**
   * What the slot serves (default 'ctr'). A model whose manifest names another target (a CVR
   * model offered to the CTR slot) is refused as `schema_mismatch`: its outputs mean something
   * else. Imported XGBoost / LightGBM files carry no target and are taken as the slot's.
   */
  target?: ModelTarget;
  onReject?: (reason: RejectReason, message: string, path: string) => void;
  onLoad?: (model: LoadedModel, path: string) => void;
}

/** The model in service, swapped atomically after verification. */
export class ModelSlot {
  private current: LoadedModel | null = null;
  readonly rejected: Record<RejectReason, number> = {
    unsigned: 0,
    unknown_key: 0,
    bad_signature: 0,
    invalid_model: 0,
    schema_mismatch: 0,
    unreadable: 0,
  };

  constructor(private readonly opts: ModelSlotOptions) {}

  get model(): LoadedModel | null {
    return this.current;
  }

  /** Verifies and loads `path`; on success swaps it in and returns true, else keeps the old one. */
  async load(path: string): Promise<boolean> {
    try {
      const next = await this.verifyAndParse(path);
      this.current = next;
      this.opts.onLoad?.(next, path);
      return true;
    } catch (e) {
      const reason: RejectReason = e instanceof ModelRejectedError ? e.reason : 'invalid_model';
      this.rejected[reason]++;
      this.opts.onReject?.(reason, e instanceof Error ? e.message : String(e), path);
      return false;
    }
  }

  private async verifyAndParse(path: string): Promise<LoadedModel> {
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch (e) {
      throw new ModelRejectedError('unreadable', `cannot read ${path}: ${String(e)}`);
    }
    const sigText = await readFile(`${path}.sig`, 'utf8').catch(() => undefined);
    verifyBytes(bytes, sigText, this.opts.keys);
    let model: LoadedModel;
    try {
      model = loadModelText(bytes.toString('utf8'));
    } catch (e) {
      throw new ModelRejectedError('invalid_model', e instanceof Error ? e.message : String(e));
    }
    if (model.numFeatures !== this.opts.numFeatures)
      throw new ModelRejectedError(
        'schema_mismatch',
        `model takes ${model.numFeatures} features, the schema has ${this.opts.numFeatures}`,
      );
    const target = model.manifest?.target ?? 'ctr';
    const want = this.opts.target ?? 'ctr';
    if (model.source === 'adstack' && target !== want)
      throw new ModelRejectedError(
        'schema_mismatch',
        `model predicts ${target}, this slot serves ${want}`,
      );
    const hash = model.manifest?.featureSchema?.hash;
    if (model.source === 'adstack' && hash !== this.opts.schemaHash)
      throw new ModelRejectedError(
        'schema_mismatch',
        `model was trained on feature schema ${String(hash)}, this server runs ${this.opts.schemaHash}`,
      );
    return model;
  }
}
