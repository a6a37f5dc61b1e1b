import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

const run = promisify(execFile);

/*
 * Viewers on a network of the test's own: a network namespace joined to this one by a veth
 * pair, so that what a test does to their packets (drop them all, drop a share, slow them down)
 * touches nothing else on the machine. The rules live inside the namespace, and the shaping on
 * the pair's two ends; removing the namespace removes them all. Needs root (CAP_NET_ADMIN) and
 * iproute2, iptables (`npm run setup` installs them).
 */

/** What a viewer's link does to packets. */
export interface LinkShape {
  /** The link's rate in each direction, in kbit/s (tc tbf). */
  readonly kbit: number;
  /** The share of packets dropped in each direction, in percent (iptables statistic). */
  readonly lossPercent: number;
}

const PREFIX = 'euc-test';
const made = new Set<TestNetwork>();

export class TestNetwork {
  private cutRules: string[][] = [];
  private lossRules: string[][] = [];
  private removed = false;

  private constructor(
    /** The namespace's name: run a command in it with `ip netns exec <namespace>`. */
    readonly namespace: string,
    /** This side's end of the pair, and its address: where the server listens. */
    private readonly hostLink: string,
    readonly serverAddress: string,
    private readonly viewerLink: string,
    /** The viewers' addresses, one per viewer, inside the namespace. */
    readonly viewerAddresses: readonly string[],
  ) {}

  /** A namespace with `viewers` addresses of its own, reachable from here at `serverAddress`. */
  static async create(viewers: number): Promise<TestNetwork> {
    await checkTools();
    removeStaleNamespaces();
    const id = randomBytes(3).toString('hex');
    const namespace = `${PREFIX}-${process.pid}-${id}`;
    const [hostLink, viewerLink] = [`eu${id}h`, `eu${id}v`];
    const subnet = await freeSubnet();
    const network = new TestNetwork(namespace, hostLink, `${subnet}.1`, viewerLink, Array.from({ length: viewers }, (_, i) => `${subnet}.${i + 2}`));
    made.add(network);
    try {
      await ip('netns', 'add', namespace);
      await ip('link', 'add', hostLink, 'type', 'veth', 'peer', 'name', viewerLink);
      await ip('link', 'set', viewerLink, 'netns', namespace);
      await ip('addr', 'add', `${network.serverAddress}/24`, 'dev', hostLink);
      await ip('link', 'set', hostLink, 'up');
      for (const address of network.viewerAddresses) await network.inside('ip', 'addr', 'add', `${address}/24`, 'dev', viewerLink);
      await network.inside('ip', 'link', 'set', viewerLink, 'up');
      await network.inside('ip', 'link', 'set', 'lo', 'up');
    } catch (error) {
      await network.remove();
      throw error;
    }
    return network;
  }

  /** The command that runs a program inside the namespace (prefix it to the program's own). */
  get within(): string[] {
    return ['ip', 'netns', 'exec', this.namespace];
  }

  /** The network vanishes: every packet between the viewers and the server is dropped, both ways, with no FIN or RST. */
  async cut(): Promise<void> {
    if (this.cutRules.length > 0) return;
    this.cutRules = [
      ['INPUT', '-s', this.serverAddress, '-j', 'DROP'],
      ['OUTPUT', '-d', this.serverAddress, '-j', 'DROP'],
    ];
    for (const rule of this.cutRules) await this.inside('iptables', '-w', '-I', ...rule);
  }

  /** The network is back: the packets flow again. */
  async restore(): Promise<void> {
    for (const rule of this.cutRules) await this.inside('iptables', '-w', '-D', ...rule);
    this.cutRules = [];
  }

  /** Slow the link down and lose a share of its packets, both ways. */
  async shape({ kbit, lossPercent }: LinkShape): Promise<void> {
    // A bucket of a few packets and at most 300 ms of queue, as a congested mobile link.
    const tbf = ['root', 'tbf', 'rate', `${kbit}kbit`, 'burst', '4kb', 'latency', '300ms'];
    await exec('tc', ['qdisc', 'replace', 'dev', this.hostLink, ...tbf]);
    await this.inside('tc', 'qdisc', 'replace', 'dev', this.viewerLink, ...tbf);
    for (const rule of this.lossRules) await this.inside('iptables', '-w', '-D', ...rule);
    const share = ['-m', 'statistic', '--mode', 'random', '--probability', String(lossPercent / 100), '-j', 'DROP'];
    this.lossRules = lossPercent > 0 ? [['INPUT', '-s', this.serverAddress, ...share], ['OUTPUT', '-d', this.serverAddress, ...share]] : [];
    for (const rule of this.lossRules) await this.inside('iptables', '-w', '-A', ...rule);
  }

  /** The kernel's view of the server's connections to the viewers (`ss -tni`), for a failure message. */
  serverConnections(): string {
    try {
      const lines = execFileSync('ss', ['-tni', 'src', this.serverAddress], { encoding: 'utf8' }).split('\n');
      return lines.slice(1).join('\n').trim() || '(none)';
    } catch (error) {
      return `(ss failed: ${(error as Error).message})`;
    }
  }

  /** Remove the namespace, its end of the pair (and so the other), its rules and its shaping. Safe to call twice. */
  async remove(): Promise<void> {
    if (this.removed) return;
    this.removed = true;
    made.delete(this);
    await run('ip', ['netns', 'del', this.namespace]).catch(() => undefined);
    // The pair goes with the namespace, a moment later; remove this end at once in case it has not.
    await run('ip', ['link', 'del', this.hostLink]).catch(() => undefined);
  }

  private inside(command: string, ...args: string[]): Promise<unknown> {
    return exec('ip', ['netns', 'exec', this.namespace, command, ...args]);
  }
}

/** Remove every namespace this process made (a test that failed before its own cleanup). */
export async function removeAllTestNetworks(): Promise<void> {
  await Promise.all([...made].map((network) => network.remove()));
}

// A process that ends without its cleanup still leaves nothing behind.
process.once('exit', () => {
  for (const network of made) {
    try {
      execFileSync('ip', ['netns', 'del', network.namespace], { stdio: 'ignore' });
    } catch {
      // Already gone.
    }
  }
});

function ip(...args: string[]): Promise<unknown> {
  return exec('ip', args);
}

async function exec(command: string, args: string[]): Promise<unknown> {
  try {
    return await run(command, args);
  } catch (error) {
    const { stderr = '', message } = error as { stderr?: string; message: string };
    const said = String(stderr).trim() || message;
    if (/Operation not permitted|Permission denied/i.test(said)) {
      throw new Error(`The network tests need root (CAP_NET_ADMIN) to make a network namespace and drop its packets: \`${command} ${args.join(' ')}\` said: ${said}`);
    }
    throw new Error(`\`${command} ${args.join(' ')}\` failed: ${said}`);
  }
}

/** Fail with what to install when a program the network tests use is missing. */
async function checkTools(): Promise<void> {
  for (const [program, pkg] of [['ip', 'iproute2'], ['tc', 'iproute2'], ['iptables', 'iptables']] as const) {
    try {
      await run('sh', ['-c', `command -v ${program}`]);
    } catch {
      throw new Error(`The network tests need \`${program}\` (Debian package ${pkg}): run \`npm run setup\`, or apt-get install -y ${pkg}.`);
    }
  }
}

/** A 10.x.y.0/24 no interface on this machine uses. */
async function freeSubnet(): Promise<string> {
  const { stdout } = await run('ip', ['-o', '-4', 'addr', 'show']);
  for (let attempt = 0; attempt < 100; attempt++) {
    const [a, b] = randomBytes(2);
    const subnet = `10.${200 + (a % 50)}.${b}`;
    if (!String(stdout).includes(` ${subnet}.`)) return subnet;
  }
  throw new Error('No free 10.x.y.0/24 subnet for a test network.');
}

/** Namespaces left by a test process that is gone (killed before its cleanup). */
function removeStaleNamespaces(): void {
  let listed = '';
  try {
    listed = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  } catch {
    return;
  }
  for (const match of listed.matchAll(new RegExp(`^(${PREFIX}-(\\d+)-\\w+)`, 'gm'))) {
    const [, name, pid] = match;
    if (processAlive(Number(pid))) continue;
    try {
      execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
    } catch {
      // Another process removed it.
    }
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
