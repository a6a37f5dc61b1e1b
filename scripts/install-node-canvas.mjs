// Installs node-canvas (`canvas`) for the renderer tests, without adding it to package.json:
// users who never pass `canvas` never pay for it. It builds from source against Cairo, so
// the system packages must be there first (Debian: see below). node-gyp is pointed at the
// headers of the running Node, so nothing is downloaded.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

const cairo = (() => {
  try {
    execFileSync('pkg-config', ['--exists', 'cairo', 'pangocairo'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
if (!cairo) {
  console.error('node-canvas needs Cairo and Pango: apt-get install -y libcairo2-dev libpango1.0-dev libjpeg-dev libgif-dev librsvg2-dev pkg-config build-essential');
  process.exit(1);
}
const nodedir = path.resolve(process.execPath, '..', '..');
const env = { ...process.env };
if (existsSync(path.join(nodedir, 'include', 'node', 'node.h'))) env.npm_config_nodedir = nodedir;
execFileSync('npm', ['install', '--no-save', '--no-audit', '--no-fund', 'canvas@^3'], { stdio: 'inherit', env });
