import type { ServerResponse } from 'node:http';

/**
 * Close the connection of a stream the server has ended (`close()`, `maxStreamMs`, a newer
 * tab): once the end has gone to the kernel, half-close it; if the viewer has not taken it,
 * or does not close its side, within `graceMs`, destroy it. Without this a viewer that
 * stopped reading keeps its socket for ever after its place is given back, and a kept-alive
 * one until Node's `keepAliveTimeout` (which an app may turn off).
 */
export function closeConnectionWhenSent(res: ServerResponse, graceMs: number): void {
  const socket = res.socket;
  if (!socket || socket.destroyed) return;
  const timer = setTimeout(() => socket.destroy(), graceMs);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
  res.once('finish', () => socket.end());
}
