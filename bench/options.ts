import path from 'node:path';

/** What `npm run bench` was asked to do (bench/README.md lists the options). */
export interface BenchOptions {
  quick: boolean;
  sizes: number[];
  floor: boolean;
  /** Also run the Express floor (an Express app doing what the floor does) at the largest N. */
  expressFloor: boolean;
  profile: boolean;
  profileDir: string;
  fanoutRounds: number;
  perWorker: number;
  backlog: number;
  settleTimeoutMs: number;
  json: string | undefined;
  /** Options for userCounterMiddleware in the counter's process, as JSON. */
  counterOptions: string;
  /** How long each quiet window measures CPU (the steady state, Firefox's framing at rest). */
  idleSeconds: number;
  /** Also measure Firefox's framing at rest (a join storm of Firefox requests on a fresh counter) at the largest N. */
  firefoxIdle: boolean;
}

/** The options from the command line, with their defaults. */
export function parseOptions(argv: string[]): BenchOptions {
  const value = (name: string): string | undefined => {
    const at = argv.indexOf(name);
    return at >= 0 ? argv[at + 1] : undefined;
  };
  const quick = argv.includes('--quick');
  const sizes = (value('--n') ?? (quick ? '1000' : '1000,5000,10000')).split(',').map(Number);
  if (sizes.some((n) => !Number.isInteger(n) || n < 1)) throw new Error('--n takes viewer counts, for example --n 1000,5000');
  const counterOptions = value('--counter-options');
  if (counterOptions !== undefined) JSON.parse(counterOptions);
  return {
    quick,
    sizes,
    floor: !argv.includes('--no-floor'),
    expressFloor: !argv.includes('--no-floor') && !argv.includes('--no-express-floor'),
    profile: argv.includes('--profile'),
    profileDir: path.resolve(value('--profile-dir') ?? path.join(__dirname, 'profiles')),
    fanoutRounds: Number(value('--fanout-rounds') ?? 3),
    perWorker: Number(value('--per-worker') ?? 2500),
    backlog: Number(value('--backlog') ?? 511),
    settleTimeoutMs: Number(value('--settle-timeout') ?? (quick ? 30_000 : 120_000)),
    json: value('--json'),
    counterOptions: value('--counter-options') ?? '{}',
    idleSeconds: Number(value('--idle-seconds') ?? (quick ? 3 : 8)),
    firefoxIdle: !argv.includes('--no-firefox-idle'),
  };
}

/** The counter's cap on streams (`maxConnections`), above the largest storm and the fan-out's joiners. */
export function maxConnectionsFor(options: BenchOptions): number {
  return Math.max(10_000, Math.max(...options.sizes) + options.fanoutRounds + 100);
}
