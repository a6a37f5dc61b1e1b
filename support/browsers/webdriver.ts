/*
 * A small W3C WebDriver client over `fetch`: what the WebKit viewers need and no more.
 * A session has one current window, so its commands run one at a time, each in the
 * window it names (switching only when another window was current).
 */

interface WebDriverReply<T> {
  value: T;
}

interface WebDriverError {
  error: string;
  message: string;
}

/** One WebDriver command over HTTP; throws with the driver's error code and message. */
export async function webDriverCommand<T>(url: string, method: 'GET' | 'POST' | 'DELETE', body?: unknown, timeoutMs = 30_000): Promise<T> {
  const response = await fetch(url, {
    method,
    headers: body === undefined ? undefined : { 'content-type': 'application/json; charset=utf-8' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await response.text();
  let reply: WebDriverReply<T | WebDriverError>;
  try {
    reply = JSON.parse(text) as WebDriverReply<T | WebDriverError>;
  } catch {
    throw new Error(`WebDriver ${method} ${url}: HTTP ${response.status}, not JSON: ${text.slice(0, 200)}`);
  }
  if (!response.ok) {
    const { error, message } = reply.value as WebDriverError;
    throw new Error(`WebDriver ${method} ${new URL(url).pathname}: ${error}: ${message}`);
  }
  return reply.value as T;
}

/** A window's box in CSS pixels. */
export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

export class WebDriverSession {
  /** The window commands act on now. */
  private current: string;
  private queue: Promise<unknown> = Promise.resolve();
  private deleted = false;

  private constructor(
    private readonly base: string,
    /** The session's first window. */
    readonly firstWindow: string,
    readonly capabilities: Record<string, unknown>,
  ) {
    this.current = firstWindow;
  }

  /** `POST /session` on the driver at `driverUrl`, with `alwaysMatch` capabilities. */
  static async create(driverUrl: string, alwaysMatch: Record<string, unknown>): Promise<WebDriverSession> {
    const created = await webDriverCommand<{ sessionId: string; capabilities: Record<string, unknown> }>(`${driverUrl}/session`, 'POST', {
      capabilities: { alwaysMatch },
    });
    const base = `${driverUrl}/session/${created.sessionId}`;
    const window = await webDriverCommand<string>(`${base}/window`, 'GET');
    return new WebDriverSession(base, window, created.capabilities);
  }

  /** Run `commands` with `window` current, after every command queued before. */
  inWindow<T>(window: string, commands: () => Promise<T>): Promise<T> {
    return this.serialized(async () => {
      if (this.current !== window) {
        await this.send('POST', '/window', { handle: window });
        this.current = window;
      }
      return commands();
    });
  }

  /** A command of this session (`path` after `/session/{id}`); call it inside `inWindow`. */
  send<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<T> {
    if (this.deleted) return Promise.reject(new Error(`WebDriver ${method} ${path}: the session was closed.`));
    return webDriverCommand<T>(`${this.base}${path}`, method, body);
  }

  /** Open a new top-level window (it does not become current); resolves with its handle. */
  newWindow(): Promise<string> {
    return this.serialized(async () => (await this.send<{ handle: string }>('POST', '/window/new', { type: 'window' })).handle);
  }

  /** Close `window`; resolves with the handles of the windows still open. */
  closeWindow(window: string): Promise<string[]> {
    return this.inWindow(window, async () => {
      const left = await this.send<string[]>('DELETE', '/window');
      // No window is current now; the next command switches first.
      this.current = '';
      return left;
    });
  }

  /** End the session: the driver closes the browser and its windows. */
  async delete(): Promise<void> {
    await this.serialized(async () => {
      if (this.deleted) return;
      await this.send('DELETE', '');
      this.deleted = true;
    });
  }

  private serialized<T>(run: () => Promise<T>): Promise<T> {
    const next = this.queue.then(run, run);
    this.queue = next.catch(() => undefined);
    return next;
  }
}
