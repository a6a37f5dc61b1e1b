import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { findSourceMap } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * V8's sampling CPU profiler (what `node --cpu-prof` runs), started and stopped
 * from inside the process so that a profile covers one scenario only. Positions in
 * TypeScript files that tsx compiled are mapped back to the source lines.
 */

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

export interface CpuProfile {
  nodes: { id: number; callFrame: CallFrame; hitCount?: number; children?: number[] }[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

let session: Session | undefined;

export async function startProfiling(intervalMicros: number): Promise<void> {
  session ??= new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: intervalMicros });
  await session.post('Profiler.start');
}

/** Stop, map to the sources, and write `<dir>/<name>.cpuprofile`; returns its path. */
export async function stopProfiling(dir: string, name: string): Promise<string> {
  if (!session) throw new Error('The profiler was not started.');
  const { profile } = (await session.post('Profiler.stop')) as unknown as { profile: CpuProfile };
  await session.post('Profiler.disable');
  session.disconnect();
  session = undefined;
  mapToSources(profile);
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}.cpuprofile`);
  writeFileSync(file, JSON.stringify(profile));
  return file;
}

function mapToSources(profile: CpuProfile): void {
  for (const { callFrame } of profile.nodes) {
    if (!callFrame.url.endsWith('.ts')) continue;
    let filename = callFrame.url;
    try {
      if (filename.startsWith('file:')) filename = fileURLToPath(filename);
    } catch {
      continue;
    }
    const map = findSourceMap(filename) ?? findSourceMap(callFrame.url);
    const entry = map?.findEntry(callFrame.lineNumber, callFrame.columnNumber) as
      | { originalSource?: string; originalLine?: number; originalColumn?: number }
      | undefined;
    if (entry?.originalLine === undefined) continue;
    callFrame.lineNumber = entry.originalLine;
    callFrame.columnNumber = entry.originalColumn ?? 0;
  }
}
