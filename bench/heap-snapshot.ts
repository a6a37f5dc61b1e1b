import { readFileSync } from 'node:fs';
import v8 from 'node:v8';
import type { Message } from './ipc.js';

/**
 * Heap snapshots for `heap.ts`: written by a server child on request, and compared by
 * object kind in the parent.
 */

/** The child's handler: collect garbage, then write a snapshot to `message.file`. */
export function writeSnapshot(message: Message): { file: string } {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
  return { file: v8.writeHeapSnapshot(String(message.file)) };
}

/** Bytes and objects by kind ("type:constructor name"), over a whole snapshot. */
export type HeapCensus = Map<string, { count: number; bytes: number }>;

interface SnapshotJson {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
  nodes: number[];
  strings: string[];
}

export function census(file: string): HeapCensus {
  const json = JSON.parse(readFileSync(file, 'utf8')) as SnapshotJson;
  const { node_fields: fields, node_types: [types] } = json.snapshot.meta;
  const width = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const result: HeapCensus = new Map();
  for (let i = 0; i < json.nodes.length; i += width) {
    const type = types[json.nodes[i + typeAt]];
    // Strings and code are grouped by kind, not by content.
    const name = /string|code|number/.test(type) ? '' : json.strings[json.nodes[i + nameAt]].slice(0, 60);
    const key = name ? `${type}: ${name}` : type;
    const entry = result.get(key) ?? { count: 0, bytes: 0 };
    entry.count += 1;
    entry.bytes += json.nodes[i + sizeAt];
    result.set(key, entry);
  }
  return result;
}

/** What `after` holds more than `before`, per stream, largest first. */
export function perStream(before: HeapCensus, after: HeapCensus, streams: number): { kind: string; objects: number; bytes: number }[] {
  const rows = [...after].map(([kind, { count, bytes }]) => {
    const was = before.get(kind) ?? { count: 0, bytes: 0 };
    return { kind, objects: (count - was.count) / streams, bytes: (bytes - was.bytes) / streams };
  });
  return rows.filter((row) => row.bytes > 0).sort((a, b) => b.bytes - a.bytes);
}
