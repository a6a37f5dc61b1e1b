import type { Request } from 'express';
import type { Refusal } from './connection-limits.js';
import type { Logger } from './types.js';

/**
 * The address the per-address caps count: `req.ip`. Without X-Forwarded-For, `req.ip` is the
 * socket's address whatever 'trust proxy' says: skip its parsing, which shows in a join storm's profile.
 */
export function clientAddress(req: Request): string {
  return (req.headers['x-forwarded-for'] === undefined ? req.socket.remoteAddress : req.ip) ?? req.socket.remoteAddress ?? '';
}

/**
 * Behind a proxy without 'trust proxy', every viewer has the proxy's address and the per-address
 * cap soon refuses everyone: say so, once, when that cap is reached by requests that carry X-Forwarded-For.
 */
export class ProxyWarning {
  private warned = false;

  constructor(private readonly logger: Logger) {}

  refused(req: Request, address: string, refusal: Refusal): void {
    if (this.warned || refusal.cap !== 'maxConnectionsPerIp' || req.headers['x-forwarded-for'] === undefined || req.app.get('trust proxy')) return;
    this.warned = true;
    this.logger.warn(
      `express-user-counter: ${JSON.stringify(address)} reached maxConnectionsPerIp while requests carry X-Forwarded-For. ` +
        "Behind a proxy every viewer has the proxy's address: set app.set('trust proxy', ...) so req.ip is the viewer's.",
    );
  }
}
