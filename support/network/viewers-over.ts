import { Child } from '../ipc.js';
import type { TestNetwork } from './test-network.js';
import type { ViewerSpec, ViewerState } from './remote-viewers.js';

export type { ViewerSpec, ViewerState };

/** Viewers on a test network: a process inside its namespace (remote-viewers.ts) that holds their streams. */
export class ViewersOver {
  private constructor(private readonly child: Child) {}

  /** Start the viewers' process inside `network` (none: on this machine's own network). */
  static async start(network?: TestNetwork): Promise<ViewersOver> {
    const { child } = await Child.start('remote-viewers.ts', `viewers in ${network?.namespace ?? 'this namespace'}`, { from: __dirname, within: network?.within ?? [] });
    return new ViewersOver(child);
  }

  /** Open a stream of `url` for each spec; resolves with each one's status once each has its first frame (or was refused). */
  async open(url: string, viewers: readonly ViewerSpec[], timeoutMs = 30_000): Promise<number[]> {
    const reply = await this.child.call('open', { url, viewers }, timeoutMs);
    return reply.statuses as number[];
  }

  /** What every viewer opened so far has seen, in the order opened. */
  async state(): Promise<ViewerState[]> {
    return (await this.child.call('state', {}, 10_000)).viewers as ViewerState[];
  }

  /** End the process (its connections go with it, or with the namespace). */
  async stop(): Promise<void> {
    await this.child.stop();
  }
}
