// Web Push's settings as an operator gives them to the real entry point in production (issue 14
// item 3: "production refuses to start push without them"). Like the token secret, production
// never runs without push by accident: the three VAPID variables, or PUSH=off to say so; anything
// else stops the start with one line saying what to set. test/config.test.ts has every refusal.
import { expect } from 'chai';
import { hs256Token, testSecret, testVapid } from '../support/api.ts';
import { testDatabaseUrl } from '../support/database.ts';
import { cleanEnvironment, runNode, runNodeToEnd, stopAll } from '../support/server-process.ts';

const listening = /^tasks-api listening on http:\/\/localhost:(\d+)$/;
const keys = { VAPID_PUBLIC_KEY: testVapid.publicKey, VAPID_PRIVATE_KEY: testVapid.privateKey, VAPID_SUBJECT: testVapid.subject };

const production = (settings: Record<string, string>) =>
  cleanEnvironment({
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'info',
    DATABASE_URL: testDatabaseUrl(),
    BETTER_AUTH_SECRET: testSecret,
    ...settings,
  });

async function serving(settings: Record<string, string>) {
  const run = runNode('src/server.ts', [], production(settings));
  const line = await run.waitForLog((entry) => listening.test(entry.msg ?? ''), 30_000);
  return { run, url: `http://127.0.0.1:${listening.exec(line.msg!)![1]}` };
}

const publicKeyOf = async (url: string) => {
  const token = await hs256Token(`push-configuration-${Date.now()}`);
  return fetch(`${url}/api/push/public-key`, { headers: { Authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(10_000) });
};

describe('Web Push configured in production, with the real process', function () {
  this.timeout(60_000);
  after(async () => stopAll());

  it('exits 1 without the VAPID keys, in one line naming them and PUSH=off, before touching the database', async () => {
    const ended = await runNodeToEnd('src/server.ts', [], production({ DATABASE_URL: 'postgres://nobody@127.0.0.1:1/nowhere' }), 20_000);

    expect(ended.code).to.equal(1);
    expect(ended.stderr).to.match(
      /^tasks-api cannot start\. Web Push has no keys: production needs VAPID_PUBLIC_KEY, VAPID_PRIVATE_KEY and VAPID_SUBJECT \(generate a pair with: npx web-push generate-vapid-keys\), or PUSH=off to run without push\.\n$/,
    );
    expect(ended.logs.filter((line) => line.msg === 'database not reachable yet; retrying')).to.deep.equal([]);
  });

  it('exits 1 with part of the keys or a key that is not one, in one line naming the variable', async () => {
    const [partial, invalid, mismatched] = await Promise.all([
      runNodeToEnd('src/server.ts', [], production({ VAPID_PUBLIC_KEY: keys.VAPID_PUBLIC_KEY }), 20_000),
      runNodeToEnd('src/server.ts', [], production({ ...keys, VAPID_PUBLIC_KEY: 'not-a-key' }), 20_000),
      runNodeToEnd('src/server.ts', [], production({ ...keys, VAPID_PRIVATE_KEY: `S${keys.VAPID_PRIVATE_KEY.slice(1)}` }), 20_000),
    ]);

    for (const ended of [partial, invalid, mismatched]) {
      expect(ended.code).to.equal(1);
      expect(ended.stderr.split('\n')).to.have.length(2).and.to.have.property('1', '');
    }
    expect(partial.stderr).to.match(/^tasks-api cannot start\. Web Push needs all three VAPID variables, but VAPID_PRIVATE_KEY and VAPID_SUBJECT are not set .*PUSH=off/);
    expect(invalid.stderr).to.match(/^tasks-api cannot start\. VAPID_PUBLIC_KEY is not a P-256 public key /);
    expect(mismatched.stderr).to.match(/^tasks-api cannot start\. VAPID_PRIVATE_KEY is not the private key of VAPID_PUBLIC_KEY/);
  });

  it('serves push with the three VAPID keys: the public key browsers subscribe with', async () => {
    const { url } = await serving(keys);

    const response = await publicKeyOf(url);

    expect(response.status).to.equal(200);
    expect(await response.json()).to.deep.equal({ public_key: testVapid.publicKey });
  });

  it('serves without push when PUSH=off says so, logging it once, and the push operations answer push-not-configured', async () => {
    const { run, url } = await serving({ PUSH: 'off' });

    const response = await publicKeyOf(url);

    expect(response.status).to.equal(404);
    expect(((await response.json()) as { type: string }).type).to.equal('/problems/push-not-configured');
    expect(run.logs.filter((line) => /^Web Push is off/.test(line.msg ?? '')).map((line) => line.level)).to.deep.equal([40]);
  });
});
