// A bounded, per-process memory of deliveries already handed to Temporal. A cache, not a store: losing it (restart,
// another replica) only costs a repeat signal, which Temporal itself de-duplicates by request id.

export interface RecentCallback {
  outcome: 'signalled' | 'unmatched' | 'progress';
  workflowId: string;
}

export interface RecentCallbacksOptions {
  maxEntries?: number;
  ttlMs?: number;
  now?: () => number;
}

/** LRU with a time-to-live, keyed by callback digest. */
export class RecentCallbacks {
  private readonly entries = new Map<string, { value: RecentCallback; expiresAt: number }>();
  private readonly maxEntries: number;
  private readonly ttlMs: number;
  private readonly now: () => number;

  constructor(options: RecentCallbacksOptions = {}) {
    this.maxEntries = options.maxEntries ?? 10_000;
    this.ttlMs = options.ttlMs ?? 5 * 60_000;
    this.now = options.now ?? Date.now;
  }

  get size(): number {
    return this.entries.size;
  }

  /** The remembered delivery, if still fresh; a hit becomes the most recently used entry. */
  get(digest: string): RecentCallback | undefined {
    const entry = this.entries.get(digest);
    if (!entry) return undefined;
    this.entries.delete(digest);
    if (entry.expiresAt <= this.now()) return undefined;
    this.entries.set(digest, entry);
    return entry.value;
  }

  /** Remembers a delivery that Temporal has accepted; evicts the least recently used beyond the bound. */
  set(digest: string, value: RecentCallback): void {
    this.entries.delete(digest);
    this.entries.set(digest, { value, expiresAt: this.now() + this.ttlMs });
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.entries.delete(oldest.value);
    }
  }
}
