import { existsSync } from 'node:fs';

/** A program the browser tests run: where Debian puts it, and the package that does. */
export interface Program {
  /** What it is, for the error message. */
  readonly name: string;
  readonly defaultPath: string;
  readonly debianPackage: string;
  /** An environment variable that points elsewhere. */
  readonly envVar: string;
}

/** Debian's browsers and tools, never downloaded ones. */
export const PROGRAMS = {
  chromium: { name: 'Chromium', defaultPath: '/usr/bin/chromium', debianPackage: 'chromium', envVar: 'CHROMIUM_PATH' },
  firefox: { name: 'Firefox ESR', defaultPath: '/usr/bin/firefox-esr', debianPackage: 'firefox-esr', envVar: 'FIREFOX_PATH' },
  webkitDriver: { name: 'WebKitWebDriver', defaultPath: '/usr/bin/WebKitWebDriver', debianPackage: 'webkit2gtk-driver', envVar: 'WEBKIT_DRIVER_PATH' },
  miniBrowser: {
    name: "WebKitGTK's MiniBrowser",
    defaultPath: '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser',
    debianPackage: 'webkit2gtk-driver',
    envVar: 'MINIBROWSER_PATH',
  },
  xvfb: { name: 'Xvfb', defaultPath: '/usr/bin/Xvfb', debianPackage: 'xvfb', envVar: 'XVFB_PATH' },
} as const satisfies Record<string, Program>;

/** Where `program` is; throws (a failure, never a skip) when it is not installed. */
export function programPath(program: Program): string {
  const path = process.env[program.envVar] || program.defaultPath;
  if (!existsSync(path)) {
    throw new Error(
      `${program.name} not found: apt-get install -y ${program.debianPackage} ` +
        `(looked for ${path}; set ${program.envVar} to use another binary)`,
    );
  }
  return path;
}
