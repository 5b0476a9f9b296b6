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
      logFormat: 'auto',
      metricsToken: undefined,
      rateLimits: { windowMs: 60_000, perUser: 600, perIp: 600 },
      trustProxy: false,
      urlLimitBytes: 8_192,
      corsOrigins: [],
      webConcurrency: 1,
      databasePreparedStatements: true,
      databaseMigrationUrl: undefined,
      migrateOnStart: true,
      shutdown: { drainMs: 0, graceMs: 20_000 },
      http: { keepAliveTimeoutMs: 65_000, headersTimeoutMs: 20_000, requestTimeoutMs: 30_000, maxHeaderBytes: 16_384 },
      delivery: {
        worker: 'on',
        pollMs: 1_000,
        concurrency: 10,
        timeoutMs: 10_000,
        retryBaseMs: 30_000,
        giveUpMs: 86_400_000,
        allowLoopback: false,
        webhookDisableAfterMs: 86_400_000,
        push: { mode: 'development-keys', subject: 'mailto:tasks-api@localhost' },
      },
    });
  });

  it('needs the three VAPID keys or PUSH=off in production, each refusal in one line, and refuses loopback delivery there', () => {
    const production = { NODE_ENV: 'production', BETTER_AUTH_SECRET: 'x'.repeat(32), DATABASE_URL: 'postgres://db.example.com/tasks' };
    const keys = {
      VAPID_PUBLIC_KEY: 'BJTc3yytPh0bpgg1djUuVMlD4glDHH2k1BoJEe1jChCU-rMjvwaBVnirXR902UvkqN_OG_eL5FLSjOctqGeKHlk',
      VAPID_PRIVATE_KEY: 'R-PksWEe7zZJQ2Omr7jqCeG1AxsxQsvBkVtGWOpAjFU',
      VAPID_SUBJECT: 'mailto:ops@example.com',
    };
    expect(loadConfig({ ...production, ...keys }).delivery.push).to.deep.equal({
      mode: 'configured',
      publicKey: keys.VAPID_PUBLIC_KEY,
      privateKey: keys.VAPID_PRIVATE_KEY,
      subject: keys.VAPID_SUBJECT,
    });
    expect(loadConfig({ ...production, PUSH: 'off' }).delivery.push).to.deep.equal({ mode: 'off' });
    expect(loadConfig({ ...production, ...keys, PUSH: 'off' }).delivery.push).to.deep.equal({ mode: 'off' });
    // The migration step and `make token` push nothing, so they need no keys.
    expect(loadConfig(production, { purpose: 'migrate' }).delivery.push).to.deep.equal({ mode: 'off' });
    expect(loadConfig(production, { purpose: 'token' }).delivery.push).to.deep.equal({ mode: 'off' });
    const refusal = (environment: Record<string, string>) => {
      try {
        loadConfig(environment);
      } catch (error) {
        expect(error).to.be.instanceOf(ConfigError);
        expect((error as Error).message).not.to.include('\n');
        return (error as Error).message;
      }
      throw new Error(`accepted ${JSON.stringify(environment)}`);
    };
    expect(refusal(production)).to.match(/^Web Push has no keys: production needs VAPID_PUBLIC_KEY, VAPID_PRIVATE_KEY and VAPID_SUBJECT .*PUSH=off/);
    expect(refusal({ ...production, PUSH: 'on' })).to.match(/^Web Push has no keys: /);
    expect(refusal({ ...production, VAPID_PUBLIC_KEY: keys.VAPID_PUBLIC_KEY })).to.match(
      /^Web Push needs all three VAPID variables, but VAPID_PRIVATE_KEY and VAPID_SUBJECT are not set .*PUSH=off/,
    );
    expect(refusal({ ...production, ...keys, VAPID_SUBJECT: '' })).to.match(/^Web Push needs all three VAPID variables, but VAPID_SUBJECT is not set /);
    const flipped = `${keys.VAPID_PUBLIC_KEY.slice(0, 80)}${keys.VAPID_PUBLIC_KEY.slice(80).toLowerCase()}`;
    expect(refusal({ ...production, ...keys, VAPID_PUBLIC_KEY: flipped })).to.match(/^VAPID_PUBLIC_KEY is not a P-256 public key /);
    expect(refusal({ ...production, ...keys, VAPID_PUBLIC_KEY: keys.VAPID_PUBLIC_KEY.slice(1) })).to.match(/^VAPID_PUBLIC_KEY is not a P-256 public key /);
    expect(refusal({ ...production, ...keys, VAPID_PRIVATE_KEY: 'R-Pks' })).to.match(/^VAPID_PRIVATE_KEY is not a P-256 private key /);
    expect(refusal({ ...production, ...keys, VAPID_PRIVATE_KEY: 'A'.repeat(43) })).to.match(/^VAPID_PRIVATE_KEY is not a P-256 private key /);
    expect(refusal({ ...production, ...keys, VAPID_PRIVATE_KEY: `S${keys.VAPID_PRIVATE_KEY.slice(1)}` })).to.match(
      /^VAPID_PRIVATE_KEY is not the private key of VAPID_PUBLIC_KEY/,
    );
    expect(refusal({ ...production, ...keys, VAPID_SUBJECT: 'ops@example.com' })).to.match(/^VAPID_SUBJECT must be a mailto: or https: URL/);
    // Outside production: none creates a development pair; part of a pair is still refused.
    expect(loadConfig({ VAPID_SUBJECT: 'https://example.com' }).delivery.push).to.deep.equal({ mode: 'development-keys', subject: 'https://example.com' });
    expect(loadConfig({ PUSH: 'off' }).delivery.push).to.deep.equal({ mode: 'off' });
    expect(refusal({ VAPID_PRIVATE_KEY: keys.VAPID_PRIVATE_KEY })).to.match(/^Web Push needs all three VAPID variables, but VAPID_PUBLIC_KEY and VAPID_SUBJECT are not set /);
    expect(() => loadConfig({ ...production, PUSH: 'off', OUTBOUND_ALLOW_LOOPBACK: 'true' })).to.throw(ConfigError, /OUTBOUND_ALLOW_LOOPBACK/);
    expect(() => loadConfig({ WORKER: 'sometimes' })).to.throw(ConfigError, /WORKER/);
    expect(() => loadConfig({ PUSH: 'no' })).to.throw(ConfigError, /^Invalid configuration:\n {2}PUSH: /);
  });

  it('reads where migrations run and whether the server runs them at start', () => {
    const config = loadConfig({
      DATABASE_URL: 'postgresql://app@ep-example-pooler.neon.tech/neondb?sslmode=require',
      DATABASE_MIGRATION_URL: 'postgresql://app@ep-example.neon.tech/neondb?sslmode=require',
      MIGRATE_ON_START: 'false',
    });
    expect({ databaseMigrationUrl: config.databaseMigrationUrl, migrateOnStart: config.migrateOnStart }).to.deep.equal({
      databaseMigrationUrl: 'postgresql://app@ep-example.neon.tech/neondb?sslmode=require',
      migrateOnStart: false,
    });
  });

  it('reads the shutdown and HTTP server settings in seconds and bytes', () => {
    const config = loadConfig({
      SHUTDOWN_DRAIN_SECONDS: '5',
      SHUTDOWN_GRACE_SECONDS: '2.5',
      HTTP_KEEP_ALIVE_TIMEOUT_SECONDS: '75',
      HTTP_HEADERS_TIMEOUT_SECONDS: '10',
      HTTP_REQUEST_TIMEOUT_SECONDS: '40',
      HTTP_MAX_HEADER_BYTES: '8192',
    });
    expect({ shutdown: config.shutdown, http: config.http }).to.deep.equal({
      shutdown: { drainMs: 5_000, graceMs: 2_500 },
      http: { keepAliveTimeoutMs: 75_000, headersTimeoutMs: 10_000, requestTimeoutMs: 40_000, maxHeaderBytes: 8_192 },
    });
  });

  it('reads the operating settings: log format, metrics token, rate limits, trusted proxies, URL limit and CORS origins', () => {
    const config = loadConfig({
      LOG_FORMAT: 'json',
      METRICS_TOKEN: 'metrics-token-0123456789',
      RATE_LIMIT_WINDOW_SECONDS: '10',
      RATE_LIMIT_PER_USER: '0',
      RATE_LIMIT_PER_IP: '50',
      TRUST_PROXY: '10.0.0.0/8, loopback',
      URL_LIMIT_BYTES: '4096',
      CORS_ORIGINS: 'https://app.example.com, http://localhost:3000',
    });
    expect({
      logFormat: config.logFormat,
      metricsToken: config.metricsToken,
      rateLimits: config.rateLimits,
      trustProxy: config.trustProxy,
      urlLimitBytes: config.urlLimitBytes,
      corsOrigins: config.corsOrigins,
    }).to.deep.equal({
      logFormat: 'json',
      metricsToken: 'metrics-token-0123456789',
      rateLimits: { windowMs: 10_000, perUser: 0, perIp: 50 },
      trustProxy: '10.0.0.0/8, loopback',
      urlLimitBytes: 4096,
      corsOrigins: ['https://app.example.com', 'http://localhost:3000'],
    });
    expect(loadConfig({ TRUST_PROXY: '1' }).trustProxy).to.equal(1);
    expect(loadConfig({ TRUST_PROXY: 'false' }).trustProxy).to.equal(false);
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
    const production = { NODE_ENV: 'production', BETTER_AUTH_SECRET: 'a'.repeat(32), DATABASE_URL: 'postgres://tasks@db.example/tasks', PUSH: 'off' };
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
      { DATABASE_MIGRATION_URL: 'mysql://db.example/tasks' },
      { MIGRATE_ON_START: 'no' },
      { SHUTDOWN_GRACE_SECONDS: '0' },
      { HTTP_MAX_HEADER_BYTES: '100' },
      // Node refuses a header deadline later than the whole-request deadline.
      { HTTP_HEADERS_TIMEOUT_SECONDS: '31' },
      { LOG_FORMAT: 'text' },
      { METRICS_TOKEN: 'short' },
      { RATE_LIMIT_PER_USER: '-1' },
      { RATE_LIMIT_WINDOW_SECONDS: '0' },
      // `true` would let any client pick its own address with X-Forwarded-For.
      { TRUST_PROXY: 'true' },
      { TRUST_PROXY: '10.0.0.0/33' },
      { URL_LIMIT_BYTES: '100' },
      { CORS_ORIGINS: '*' },
      { CORS_ORIGINS: 'https://app.example.com/' },
      { CORS_ORIGINS: 'https://app.example.com, app.example.org' },
      { WEB_CONCURRENCY: '0' },
      { DATABASE_PREPARED_STATEMENTS: 'maybe' },
    ];
    for (const environment of cases) {
      const [name] = Object.keys(environment);
      expect(() => loadConfig(environment), name).to.throw(ConfigError, new RegExp(`^Invalid configuration:\\n  ${name}: `));
    }
  });
});
