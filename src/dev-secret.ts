// Development convenience: with no auth configured (and NODE_ENV not production), tokens are HS256
// tokens signed with a random secret kept in DATA_DIR, which `make token` also reads.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

export async function readOrCreateDevSecret(dataDirectory: string): Promise<string> {
  const file = path.join(dataDirectory, 'dev-jwt-secret');
  if (existsSync(file)) return (await readFile(file, 'utf8')).trim();
  await mkdir(dataDirectory, { recursive: true, mode: 0o755 });
  const secret = randomBytes(32).toString('base64url');
  await writeFile(file, `${secret}\n`, { mode: 0o600, flag: 'wx' }).catch(async (error: NodeJS.ErrnoException) => {
    // Another process created it first: use theirs.
    if (error.code !== 'EEXIST') throw error;
  });
  return (await readFile(file, 'utf8')).trim();
}

/**
 * Development convenience for Web Push: with no VAPID keys configured (and NODE_ENV not production),
 * a P-256 key pair kept in DATA_DIR, created on first use, so subscriptions survive restarts.
 */
export async function readOrCreateDevVapidKeys(dataDirectory: string): Promise<{ publicKey: string; privateKey: string }> {
  const file = path.join(dataDirectory, 'dev-vapid-keys.json');
  if (!existsSync(file)) {
    await mkdir(dataDirectory, { recursive: true, mode: 0o755 });
    const { generateVAPIDKeys } = (await import('web-push')).default;
    const keys = generateVAPIDKeys();
    await writeFile(file, `${JSON.stringify(keys)}\n`, { mode: 0o600, flag: 'wx' }).catch((error: NodeJS.ErrnoException) => {
      // Another process created it first: use theirs.
      if (error.code !== 'EEXIST') throw error;
    });
  }
  const { publicKey, privateKey } = JSON.parse(await readFile(file, 'utf8')) as { publicKey: string; privateKey: string };
  return { publicKey, privateKey };
}
