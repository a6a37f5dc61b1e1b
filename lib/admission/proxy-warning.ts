import type { Request } from 'express';
import type { Refusal } from './connection-limits.js';
import type { Warnings } from '../config/warnings.js';

/**
 * Behind a proxy without 'trust proxy', every viewer has the proxy's address and the per-address
 * cap soon refuses everyone: say so (once) when that cap is reached by requests that carry X-Forwarded-For.
 */
export function warnOfUntrustedProxy(req: Request, refusal: Refusal, warnings: Warnings): void {
  if (refusal.cap !== 'maxConnectionsPerIp' || req.headers['x-forwarded-for'] === undefined || req.app.get('trust proxy')) return;
  // No address in it: the log holds nothing a client sent or connected from.
  warnings.warn(
    'WRN_USER_COUNTER_TRUST_PROXY',
    'an address reached maxConnectionsPerIp while requests carry X-Forwarded-For. ' +
      "Behind a proxy every viewer has the proxy's address: set app.set('trust proxy', ...) so req.ip is the viewer's.",
  );
}
