import { isIPv6 } from 'node:net';

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
    address = addressGroup(address);
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
    address = addressGroup(address);
    const held = this.perAddress.get(address) ?? 0;
    if (held === 0) return;
    if (held === 1) this.perAddress.delete(address);
    else this.perAddress.set(address, held - 1);
    this.total -= 1;
  }
}

/**
 * The unit the per-address cap counts: an IPv4 address, or an IPv6 /64 (one client is
 * usually given a whole /64, so single IPv6 addresses would cost it nothing to vary).
 */
export function addressGroup(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1];
  if (!isIPv6(address)) return address;
  const [head, tail = ''] = address.split('%')[0].split('::');
  const left = head ? head.split(':') : [];
  const right = address.includes('::') && tail ? tail.split(':') : [];
  const groups = address.includes('::') ? [...left, ...Array(8 - left.length - right.length).fill('0'), ...right] : left;
  return `${groups.slice(0, 4).map((group) => parseInt(group, 16).toString(16)).join(':')}::/64`;
}
