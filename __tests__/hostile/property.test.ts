import type { Socket } from 'node:net';
import type { ServerResponse } from 'node:http';
import fc from 'fast-check';
import { closeAllApps, startCounterApp } from '../helpers/counter-app.js';
import { eventually } from '../helpers/time.js';
import type { CounterApp } from '../helpers/counter-app.js';
import { RawConnection, imageRequest, rawRequest } from '../helpers/raw-connection.js';

/**
 * Random sequences of what real viewers do — join, leave cleanly, abort before the first
 * byte, vanish mid-stream, reset the connection, stop reading and read again — from several
 * addresses against one listening app. The count must equal the streams that are really
 * open whenever it is read after things settle, must never exceed them at any moment, and
 * must be exactly 0 at the end; the per-address cap must admit and refuse as the open
 * streams say.
 */

const CLIENTS = ['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4'];
/** Reads of `/online.json` come from an address no viewer uses, so they never disturb the per-address bookkeeping. */
const READER_ADDRESS = '127.0.0.9';
const PER_IP = 3;

type Command =
  | { kind: 'join'; client: number }
  | { kind: 'abortEarly'; client: number; reset: boolean }
  | { kind: 'leave' | 'destroy' | 'reset' | 'stall' | 'resume'; pick: number }
  | { kind: 'settle' };

const client = fc.integer({ min: 0, max: CLIENTS.length - 1 });
const pick = fc.nat(100);
const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ kind: fc.constant('join' as const), client }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('abortEarly' as const), client, reset: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('leave' as const), pick }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('destroy' as const), pick }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('reset' as const), pick }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('stall' as const), pick }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('resume' as const), pick }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'settle' as const }) },
);

interface OpenStream {
  readonly connection: RawConnection;
  readonly address: string;
  stalled: boolean;
}

/** What the server really holds: stream responses not yet closed, and sockets, by client address. */
interface ServerTruth {
  readonly responses: Map<ServerResponse, string>;
  readonly sockets: Map<Socket, string>;
  /** Set when the count, at a `change`, exceeded the open stream responses. */
  violation?: string;
}

let app: CounterApp;
let truth: ServerTruth;

beforeAll(async () => {
  const responses = new Map<ServerResponse, string>();
  app = await startCounterApp(
    { maxConnectionsPerIp: PER_IP },
    {
      before: (express) =>
        express.use((req, res, next) => {
          if (req.path === '/online.png') {
            responses.set(res, req.socket.remoteAddress ?? '');
            res.on('close', () => responses.delete(res));
          }
          next();
        }),
    },
  );
  const sockets = new Map<Socket, string>();
  app.server.on('connection', (socket: Socket) => {
    sockets.set(socket, socket.remoteAddress ?? '');
    socket.on('close', () => sockets.delete(socket));
  });
  truth = { responses, sockets };
  // At every moment the count changes, it may not exceed the streams the server holds open.
  app.counter.events.on('change', ({ count }) => {
    if (count > responses.size || count < 0) truth.violation ??= `count ${count} with ${responses.size} stream response(s) open`;
  });
});

afterAll(closeAllApps);

function held(address: string, map: Map<unknown, string>): number {
  let n = 0;
  for (const value of map.values()) if (value === address) n += 1;
  return n;
}

/** Wait until the server holds for `address` exactly the sockets and streams the clients hold. */
async function settleAddress(address: string, open: OpenStream[]): Promise<void> {
  const expected = open.filter((stream) => stream.address === address).length;
  await eventually(
    () => held(address, truth.sockets) === expected && held(address, truth.responses) === expected,
    `the server to hold ${expected} stream(s) from ${address}`,
  );
}

async function readJsonCount(): Promise<number> {
  const { host } = new URL(app.url);
  const reader = await RawConnection.send(app.url, rawRequest('GET', '/online.json', [['Host', host], ['Connection', 'close']]), {
    localAddress: READER_ADDRESS,
  });
  await reader.waitForClose();
  return (JSON.parse(reader.body.toString('utf8')) as { count: number }).count;
}

async function settle(open: OpenStream[]): Promise<void> {
  for (const address of CLIENTS) await settleAddress(address, open);
  expect(truth.responses.size).toBe(open.length);
  expect(app.counter.count).toBe(open.length);
  expect(await readJsonCount()).toBe(open.length);
  // Read after a request has passed the router: locals are defined from the first request on.
  expect(app.app.locals.userCount).toBe(open.length);
  expect(truth.violation).toBeUndefined();
}

async function run(commands: Command[]): Promise<void> {
  const open: OpenStream[] = [];
  const take = (index: number): OpenStream | undefined => (open.length === 0 ? undefined : open.splice(index % open.length, 1)[0]);
  try {
    for (const step of commands) {
      switch (step.kind) {
        case 'join': {
          const address = CLIENTS[step.client];
          // The cap's answer is known only once the server has seen earlier leaves from this address.
          await settleAddress(address, open);
          const admitted = open.filter((stream) => stream.address === address).length < PER_IP;
          const connection = await RawConnection.send(app.url, imageRequest(app.url), { localAddress: address });
          const head = await connection.waitForHead();
          if (admitted) {
            expect(head.status).toBe(200);
            open.push({ connection, address, stalled: false });
            await connection.waitForParts(1);
          } else {
            expect(head.status).toBe(429);
            connection.destroy();
          }
          break;
        }
        case 'abortEarly': {
          const connection = await RawConnection.connect(app.url, { localAddress: CLIENTS[step.client] });
          connection.write(imageRequest(app.url));
          if (step.reset) connection.reset();
          else connection.destroy();
          break;
        }
        case 'leave':
          take(step.pick)?.connection.end();
          break;
        case 'destroy':
          take(step.pick)?.connection.destroy();
          break;
        case 'reset':
          take(step.pick)?.connection.reset();
          break;
        case 'stall':
        case 'resume': {
          const stream = open.length > 0 ? open[step.pick % open.length] : undefined;
          if (!stream) break;
          stream.stalled = step.kind === 'stall';
          if (stream.stalled) stream.connection.pause();
          else stream.connection.resume();
          break;
        }
        case 'settle':
          await settle(open);
          break;
      }
    }
    await settle(open);
  } finally {
    for (const stream of open.splice(0)) stream.connection.destroy();
  }
  await settle(open);
  expect(app.counter.count).toBe(0);
}

test('the count equals the open streams whenever read, never exceeds them, and is 0 after random joins, leaves, aborts, resets and stalls', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(command, { minLength: 5, maxLength: 40, size: 'max' }), (commands) => run(commands)),
    { numRuns: 60, interruptAfterTimeLimit: 45_000, markInterruptAsFailure: false },
  );
}, 60_000);
