import path from 'node:path';
import { expect } from 'chai';
import { ConfigError, loadConfig } from '../src/config.ts';

describe('configuration from the environment', () => {
  it('serves on 0.0.0.0:8000 with the embedded database and a development secret when nothing is set', () => {
    expect(loadConfig({})).to.deep.equal({
      environment: 'development',
      host: '0.0.0.0',
      port: 8000,
      databaseUrl: undefined,
      databasePoolMax: 10,
      databaseWaitSeconds: 30,
      dataDirectory: path.resolve('.data'),
      auth: { mode: 'development-secret', issuer: undefined, audience: undefined },
      validateResponses: true,
      bodyLimitBytes: 65_536,
      logLevel: 'info',
      webConcurrency: 1,
      databasePreparedStatements: true,
    });
  });

  it('lets JWT_JWKS_URL, JWT_ISSUER and JWT_AUDIENCE override what BETTER_AUTH_URL implies', () => {
    const config = loadConfig({
      BETTER_AUTH_URL: 'https://app.example',
      JWT_JWKS_URL: 'https://keys.example/jwks.json',
      JWT_ISSUER: 'https://issuer.example',
      JWT_AUDIENCE: 'tasks-api',
    });
    expect(config.auth).to.deep.equal({
      mode: 'configured',
      jwks: { jwksUrl: new URL('https://keys.example/jwks.json'), issuer: 'https://issuer.example', audience: 'tasks-api' },
      secret: undefined,
    });
  });

  it('turns response validation off by default in production, and lets VALIDATE_RESPONSES turn it on', () => {
    const production = { NODE_ENV: 'production', BETTER_AUTH_SECRET: 'a'.repeat(32) };
    expect(loadConfig(production).validateResponses).to.equal(false);
    expect(loadConfig({ ...production, VALIDATE_RESPONSES: 'true' }).validateResponses).to.equal(true);
    expect(loadConfig({ VALIDATE_RESPONSES: '0' }).validateResponses).to.equal(false);
  });

  it('reads WEB_CONCURRENCY and DATABASE_PREPARED_STATEMENTS', () => {
    const config = loadConfig({ WEB_CONCURRENCY: '4', DATABASE_PREPARED_STATEMENTS: 'false' });
    expect({ webConcurrency: config.webConcurrency, databasePreparedStatements: config.databasePreparedStatements }).to.deep.equal({
      webConcurrency: 4,
      databasePreparedStatements: false,
    });
  });

  it('refuses each invalid setting with a message naming the variable', () => {
    const cases: Record<string, string>[] = [
      { BETTER_AUTH_SECRET: 'too-short' },
      { BETTER_AUTH_URL: 'not a url' },
      { DATABASE_URL: 'mysql://db.example/tasks' },
      { PORT: '80000' },
      { NODE_ENV: 'staging' },
      { VALIDATE_RESPONSES: 'yes' },
      { WEB_CONCURRENCY: '0' },
      { DATABASE_PREPARED_STATEMENTS: 'maybe' },
    ];
    for (const environment of cases) {
      const [name] = Object.keys(environment);
      expect(() => loadConfig(environment), name).to.throw(ConfigError, new RegExp(`^Invalid configuration:\\n  ${name}: `));
    }
  });
});
