import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** A self-signed certificate for 127.0.0.1 and localhost, made for one test run. */
export interface SelfSignedCertificate {
  /** PEM certificate. */
  readonly certPath: string;
  /** PEM private key (unencrypted). */
  readonly keyPath: string;
  /** Delete the temporary directory holding both. */
  remove(): void;
}

function findOpenssl(): string {
  for (const candidate of [process.env.OPENSSL_PATH, '/usr/bin/openssl', '/usr/local/bin/openssl']) {
    if (candidate && existsSync(candidate)) return candidate;
  }
  try {
    return execFileSync('sh', ['-c', 'command -v openssl'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error('openssl not found: apt-get install -y openssl (or set OPENSSL_PATH). The HTTPS proxy tests make their certificates with it.');
  }
}

/**
 * Make a certificate valid for a day with the `openssl` CLI, in a new temporary
 * directory. An EC key: made in milliseconds, where RSA takes a noticeable while.
 */
export function makeSelfSignedCertificate(): SelfSignedCertificate {
  const openssl = findOpenssl();
  const dir = mkdtempSync(path.join(tmpdir(), 'express-user-counter-tls-'));
  const certPath = path.join(dir, 'cert.pem');
  const keyPath = path.join(dir, 'key.pem');
  const remove = (): void => rmSync(dir, { recursive: true, force: true });
  try {
    execFileSync(
      openssl,
      [
        'req', '-x509', '-nodes', '-days', '1',
        '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
        '-keyout', keyPath, '-out', certPath,
        '-subj', '/CN=localhost',
        '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
  } catch (error) {
    remove();
    const stderr = (error as { stderr?: Buffer }).stderr?.toString() ?? '';
    throw new Error(`openssl (${openssl}) could not make a self-signed certificate: ${(error as Error).message}\n${stderr}`);
  }
  return { certPath, keyPath, remove };
}
