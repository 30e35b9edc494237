// The rollout record of a Kubernetes target, kept with the deployment itself: two annotations on
// the managed object (the HTTPRoute, the InferenceService), written with a resourceVersion
// precondition. A 409 only means the object changed (a controller wrote status, someone edited a
// label): it is re-read, and the write retried unless the record itself moved on. The record's
// lease is mirrored into a coordination.k8s.io/v1 Lease, so `kubectl get lease` shows who is
// rolling out, and a holder the record does not know about (another Ferry, another tool) blocks.
import { StateConflictError, StateCorruptError, type StateStore, type StoredRecord } from '../../state/store.js';
import { KubeApiError, type KubeClient, type KubeObject } from './client.js';

export const RECORD_ANNOTATION = 'ferry.dev/rollout';
export const REVISION_ANNOTATION = 'ferry.dev/rollout-revision';
const MAX_RETRIES = 5;

interface LeaseFields {
  readonly holder: string;
  readonly acquiredAt: string;
  readonly expiresAt: number;
}

interface LeaseObject extends KubeObject {
  spec?: { holderIdentity?: string; leaseDurationSeconds?: number; acquireTime?: string; renewTime?: string };
}

function leaseOf(data: unknown): LeaseFields | null {
  const lease = (data as { lease?: Partial<LeaseFields> | null } | null)?.lease;
  if (!lease || typeof lease.holder !== 'string' || typeof lease.expiresAt !== 'number') return null;
  return { holder: lease.holder, acquiredAt: lease.acquiredAt ?? new Date().toISOString(), expiresAt: lease.expiresAt };
}

/** Micro-second times, as the Lease API writes them. */
function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/Z$/, '000Z');
}

export class AnnotationStateStore implements StateStore {
  readonly location: string;

  constructor(
    private readonly client: KubeClient,
    /** API path of the object that carries the record (/apis/…/namespaces/ns/httproutes/name). */
    private readonly objectPath: string,
    /** "HTTPRoute models/classifier", for messages. */
    private readonly objectName: string,
    private readonly namespace: string,
    private readonly leaseName: string,
    /** When the carrier object may be missing: creates it (at the first write). Without it, a missing object is an error. */
    private readonly create?: () => Promise<void>,
  ) {
    this.location = `annotations of ${objectName}`;
  }

  private parse(object: KubeObject): StoredRecord | null {
    const annotations = object.metadata.annotations ?? {};
    const text = annotations[RECORD_ANNOTATION];
    if (text === undefined) return null;
    const revision = Number(annotations[REVISION_ANNOTATION]);
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (error) {
      throw new StateCorruptError(`annotation ${RECORD_ANNOTATION} of ${this.objectName} is not valid JSON (${(error as Error).message}); remove it to start over`);
    }
    if (!Number.isInteger(revision) || revision < 1) throw new StateCorruptError(`annotation ${REVISION_ANNOTATION} of ${this.objectName} is not a revision number`);
    return { data, revision };
  }

  async read(): Promise<StoredRecord | null> {
    const object = await this.client.get(this.objectPath);
    return object === null ? null : this.parse(object);
  }

  async write(data: unknown, expected: number): Promise<number> {
    for (let attempt = 1; ; attempt++) {
      let object = await this.client.get(this.objectPath);
      if (object === null && this.create) {
        await this.create();
        object = await this.client.get(this.objectPath);
      }
      if (object === null) {
        throw new StateCorruptError(`${this.objectName} does not exist, so the rollout record cannot be kept on it; deploy the stable version first`);
      }
      const stored = this.parse(object);
      const current = stored?.revision ?? 0;
      if (current !== expected) throw new StateConflictError(this.location, expected, current);
      await this.syncLease(data, leaseOf(stored?.data));
      try {
        await this.client.mergePatch(this.objectPath, {
          metadata: {
            resourceVersion: object.metadata.resourceVersion,
            annotations: { [RECORD_ANNOTATION]: JSON.stringify(data), [REVISION_ANNOTATION]: String(expected + 1) },
          },
        });
        return expected + 1;
      } catch (error) {
        // 409: the object changed since the read. Re-read; the revision check above decides.
        if (!(error instanceof KubeApiError && error.status === 409) || attempt >= MAX_RETRIES) {
          if (error instanceof KubeApiError && error.status === 409) throw new StateConflictError(this.location, expected, -1);
          throw error;
        }
      }
    }
  }

  /** Mirrors the record's lease into the Lease object; refuses when an unknown holder has it. */
  private async syncLease(data: unknown, previous: LeaseFields | null): Promise<void> {
    const wanted = leaseOf(data);
    const path = `/apis/coordination.k8s.io/v1/namespaces/${this.namespace}/leases/${this.leaseName}`;
    for (let attempt = 1; ; attempt++) {
      const lease = await this.client.get<LeaseObject>(path);
      const holder = lease?.spec?.holderIdentity ?? '';
      const renewed = Date.parse(lease?.spec?.renewTime ?? '') || 0;
      const live = holder !== '' && renewed + (lease?.spec?.leaseDurationSeconds ?? 0) * 1000 > Date.now();
      if (live && holder !== wanted?.holder && holder !== previous?.holder) {
        throw new StateConflictError(`Lease ${this.namespace}/${this.leaseName} (held by ${holder})`, -1, -1);
      }
      const spec = wanted
        ? {
            holderIdentity: wanted.holder,
            leaseDurationSeconds: Math.max(1, Math.ceil((wanted.expiresAt - Date.now()) / 1000)),
            acquireTime: microTime(Date.parse(wanted.acquiredAt) || Date.now()),
            renewTime: microTime(Date.now()),
          }
        : { holderIdentity: null, leaseDurationSeconds: null, acquireTime: null, renewTime: null };
      try {
        if (lease === null) {
          if (!wanted) return;
          await this.client.create(`/apis/coordination.k8s.io/v1/namespaces/${this.namespace}/leases`, {
            apiVersion: 'coordination.k8s.io/v1',
            kind: 'Lease',
            metadata: { name: this.leaseName, labels: { 'app.kubernetes.io/managed-by': 'ferry' } },
            spec,
          });
        } else {
          await this.client.mergePatch(path, { metadata: { resourceVersion: lease.metadata.resourceVersion }, spec });
        }
        return;
      } catch (error) {
        const conflict = error instanceof KubeApiError && (error.status === 409 || error.reason === 'AlreadyExists');
        if (!conflict || attempt >= MAX_RETRIES) throw error;
      }
    }
  }
}
