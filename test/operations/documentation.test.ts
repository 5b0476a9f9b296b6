// The documentation routes: the contract served as is, and the /docs page with its own CSP (the
// page rendering in a browser is test/docs/).
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { expect } from 'chai';
import { parse } from 'yaml';
import { contractPath } from '../../src/contract.ts';
import { sharedApi } from '../support/api.ts';

const docsPolicy = (scriptHash: string) =>
  [
    "default-src 'none'",
    `script-src 'self' 'sha256-${scriptHash}'`,
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "worker-src 'self' blob:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');

describe('docsPortal', () => {
  it('serves the Redoc page with no token, under a CSP that allows its one inline script by hash and nothing from another host', async () => {
    const api = await sharedApi();
    const response = await api.http.get('/docs');
    expect(response.status).to.equal(200);
    expect(response.headers['content-type']).to.equal('text/html; charset=utf-8');
    const script = /<script type="module">([\s\S]*?)<\/script>/.exec(response.text)?.[1];
    expect(script).to.be.a('string').and.include("import { init } from '/docs/redoc.standalone.js';");
    expect(script).to.include("init('/openapi.json', { disableTelemetry: true }, document.getElementById('redoc'));");
    expect(response.headers['content-security-policy']).to.equal(docsPolicy(createHash('sha256').update(script!).digest('base64')));
    expect(response.text).not.to.match(/(src|href)="https?:/);
  });

  it('leaves helmet\'s policy on every other route', async () => {
    const api = await sharedApi();
    const response = await api.http.get('/health');
    expect(response.headers['content-security-policy']).to.include("script-src 'self';");
    expect(response.headers['content-security-policy']).not.to.include('blob:');
  });
});

describe('docsScript', () => {
  it('serves the Redoc bundle as JavaScript with its outside logo URLs replaced', async () => {
    const api = await sharedApi();
    const response = await api.http.get('/docs/redoc.standalone.js');
    expect(response.status).to.equal(200);
    expect(response.headers['content-type']).to.equal('text/javascript; charset=utf-8');
    expect(response.text).to.include('export{RedocStandalone,hydrate,init}');
    expect(response.text).not.to.include('cdn.redoc.ly');
  });
});

describe('contractYaml', () => {
  it('serves the contract file byte for byte', async () => {
    const api = await sharedApi();
    const response = await api.http.get('/openapi.yaml').buffer(true).parse((res, done) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
      res.on('end', () => done(null, text));
    });
    expect(response.status).to.equal(200);
    expect(response.headers['content-type']).to.equal('application/yaml; charset=utf-8');
    expect(response.body).to.equal(await readFile(contractPath, 'utf8'));
  });
});

describe('contractJson', () => {
  it('serves the contract as JSON', async () => {
    const api = await sharedApi();
    const response = await api.http.get('/openapi.json');
    expect(response.status).to.equal(200);
    expect(response.headers['content-type']).to.equal('application/json; charset=utf-8');
    expect(response.body).to.deep.equal(parse(await readFile(contractPath, 'utf8')));
  });
});
