/** Why a stream was refused, with the HTTP answer that says so. */
export interface Refusal {
  readonly status: 429 | 503;
  readonly reason: string;
}

/**
 * Caps on open streams: a public counter is an open socket anyone can hold, so one
 * client (per `req.ip`) may hold only so many, and the instance only so many in all.
 * Memory is one map entry per address with an open stream.
 */
export class ConnectionLimits {
  private readonly perAddress = new Map<string, number>();
  private total = 0;

  constructor(
    private readonly maxConnections: number,
    private readonly maxConnectionsPerIp: number,
  ) {}

  /** Take a place for `address`, or say why not. Every admitted stream must be `release`d once. */
  admit(address: string): Refusal | undefined {
    if (this.total >= this.maxConnections) {
      return { status: 503, reason: 'Too many viewers right now: the counter is at its limit. Try again shortly.' };
    }
    const held = this.perAddress.get(address) ?? 0;
    if (held >= this.maxConnectionsPerIp) {
      return { status: 429, reason: 'Too many open counter images from your address. Close some pages and try again.' };
    }
    this.perAddress.set(address, held + 1);
    this.total += 1;
    return undefined;
  }

  release(address: string): void {
    const held = this.perAddress.get(address) ?? 0;
    if (held === 0) return;
    if (held === 1) this.perAddress.delete(address);
    else this.perAddress.set(address, held - 1);
    this.total -= 1;
  }
}
