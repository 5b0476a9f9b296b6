/**
 * `sslmode` as libpq and Neon spell it, rewritten for the driver that will read it. Whenever TLS is
 * on, both drivers verify the server's certificate and host name (libpq's verify-full) — stricter
 * than libpq's `require`, and what managed services such as Neon pass. `no-verify` opts out.
 * Slonik accepts only disable / no-verify / require; pg warns unless it reads verify-full.
 */
export function withDriverSslMode(databaseUrl: string, driver: 'slonik' | 'pg'): string {
  const url = new URL(databaseUrl);
  const mode = url.searchParams.get('sslmode');
  if (mode === null || mode === 'disable' || mode === 'no-verify') return databaseUrl;
  if (!['allow', 'prefer', 'require', 'verify-ca', 'verify-full'].includes(mode)) {
    throw new Error(`DATABASE_URL has an unknown sslmode "${mode}" (use disable, require, verify-full or no-verify)`);
  }
  url.searchParams.set('sslmode', driver === 'slonik' ? 'require' : 'verify-full');
  return url.toString();
}
