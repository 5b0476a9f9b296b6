// `make token USER=<id>`: prints an HS256 access token for that user, signed with the secret this
// server verifies (the development secret under DATA_DIR, or BETTER_AUTH_SECRET). Tokens for a
// JWKS-only setup come from Better Auth itself (GET /api/auth/token).
import '../src/check-node.js';
import { SignJWT } from 'jose';
import { loadConfig } from '../src/config.ts';
import { authOptionsFor } from '../src/auth.ts';

const userId = process.argv[2]?.trim();
const lifetime = process.argv[3] ?? '1h';
if (!userId) {
  console.error('usage: make token USER=<user id> [TTL=1h]');
  process.exit(2);
}

// Exactly the secret (and iss/aud) the server verifies HS256 tokens with.
const claims = (await authOptionsFor(loadConfig(process.env, { purpose: 'token' }))).secret;
if (!claims) {
  console.error('Only JWKS verification is configured (BETTER_AUTH_URL / JWT_JWKS_URL): get tokens from Better Auth (GET /api/auth/token).');
  process.exit(1);
}

let jwt = new SignJWT({}).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).setSubject(userId).setIssuedAt().setExpirationTime(lifetime);
if (claims.issuer) jwt = jwt.setIssuer(claims.issuer);
if (claims.audience) jwt = jwt.setAudience(claims.audience);
console.log(await jwt.sign(new TextEncoder().encode(claims.secret)));
