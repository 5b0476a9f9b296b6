// The docs portal in a real browser: headless Chrome or Chromium opens /docs from the running
// server, Redoc renders every operation of the contract, and nothing is fetched from another host.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { chromium, type BrowserContext } from 'playwright-core';
import { startTestApi, type TestApi } from '../support/api.ts';
import { contract, contractOperations } from '../support/contract.ts';

/** Where Chrome or Chromium is: scripts/find-tool.sh decides (CHROMIUM_PATH, PATH, the usual places), as for `make test`. */
function findChromium(): string {
  try {
    return execFileSync(path.join(import.meta.dirname, '../../scripts/find-tool.sh'), ['chromium'], { encoding: 'utf8' }).trim();
  } catch (error) {
    throw new Error(String((error as { stderr?: unknown }).stderr ?? error).trim(), { cause: error });
  }
}
// Without the background-networking flags Chromium
// phones Google at start, which is both an outside request and slow on a closed network.
const chromiumFlags = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

type PageGlobals = { document: { querySelectorAll(selector: string): Iterable<{ innerText: string }> } };

describe('docsPortal in headless Chromium', function () {
  this.timeout(180_000);
  let api: TestApi;
  let browser: BrowserContext;
  let profile: string;

  before(async function () {
    const chromiumPath = findChromium();
    api = await startTestApi();
    profile = mkdtempSync(path.join(tmpdir(), 'tasks-api-chromium-'));
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: chromiumPath,
      headless: true,
      // Tall enough that Redoc's sidebar shows every operation at once: at 720 px the last ones of
      // an expanded tag sit under the sidebar's footer and a click on them never lands.
      viewport: { width: 1280, height: 3000 },
      args: chromiumFlags,
    });
  });

  after(async function () {
    await browser?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
    await api?.close();
  });

  it('renders every operation of the contract and requests nothing from another host', async function () {
    const origin = new URL(api.url).origin;
    const requested: string[] = [];
    const failed: string[] = [];
    const consoleErrors: string[] = [];
    browser.on('request', (request) => requested.push(request.url()));
    browser.on('requestfailed', (request) => failed.push(`${request.url()}: ${request.failure()?.errorText}`));
    const page = await browser.newPage();
    // Every CSP violation the page causes (a refused eval, inline script, style or request), as the
    // browser reports it to the page: this catches the ones that never reach the console too.
    await page.addInitScript(() => {
      const violations: string[] = [];
      (globalThis as unknown as { cspViolations: string[] }).cspViolations = violations;
      type Violation = { violatedDirective: string; blockedURI: string; sourceFile: string };
      const page = globalThis as unknown as { addEventListener(type: string, listener: (event: Violation) => void): void };
      page.addEventListener('securitypolicyviolation', (violation) => {
        violations.push(`${violation.violatedDirective} blocked ${violation.blockedURI} (${violation.sourceFile})`);
      });
    });
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    page.on('pageerror', (error) => consoleErrors.push(error.message));

    const response = await page.goto(`${api.url}/docs`);
    expect(response?.status()).to.equal(200);
    // The outside requests and console errors are reported first, even when Redoc did not render
    // at all: they are usually why.
    const unrendered: string[] = [];
    try {
      await page.getByRole('heading', { name: contract.info.title, exact: false }).first().waitFor({ timeout: 30_000 });
      // Redoc 3 renders one operation per route (`#/<tag>/<operationid>`) and lists an operation in
      // the sidebar once its tag is expanded: open every tag of the contract, then every operation,
      // and wait for the operation's summary to be rendered as its heading.
      for (const tag of contract.tags as { name: string }[]) {
        await page.getByText(tag.name, { exact: true }).first().click();
      }
      for (const operation of contractOperations) {
        const summary = contract.paths[operation.path][operation.method.toLowerCase()].summary as string;
        const link = page.locator(`a[href$="/${operation.operationId.toLowerCase()}"]`).first();
        try {
          // Opening another tag's operation can fold this tag's group in the sidebar: open it again.
          if (!(await link.isVisible())) {
            const tag = contract.paths[operation.path][operation.method.toLowerCase()].tags[0] as string;
            await page.getByText(tag, { exact: true }).first().click();
          }
          await link.click({ timeout: 15_000 });
          await page.waitForFunction(
            // Runs in the page (tsconfig has no DOM lib, hence the narrow local type).
            (text) =>
              [...(globalThis as unknown as PageGlobals).document.querySelectorAll('h1, h2, h3')].some(
                (heading) => heading.innerText.trim() === text,
              ),
            summary,
            { timeout: 15_000 },
          );
        } catch (error) {
          unrendered.push(`${operation.operationId}: ${(error as Error).message.split('\n')[0]}`);
        }
      }
    } catch (error) {
      unrendered.push(`the page: ${(error as Error).message.split('\n')[0]}`);
    }

    const elsewhere = requested.filter((url) => {
      const { protocol } = new URL(url);
      if (protocol === 'data:') return false;
      // Redoc's search worker: a blob URL this origin created.
      if (protocol === 'blob:') return !url.startsWith(`blob:${origin}/`);
      return new URL(url).origin !== origin;
    });
    expect(elsewhere, 'requests to other hosts').to.deep.equal([]);
    expect(requested).to.include.members([`${origin}/docs`, `${origin}/docs/redoc.standalone.js`, `${origin}/openapi.json`]);
    expect(failed, 'failed requests').to.deep.equal([]);
    // A CSP refusal is reported on the console; none may happen.
    expect(consoleErrors, 'console errors').to.deep.equal([]);
    expect(await page.evaluate(() => (globalThis as unknown as { cspViolations: string[] }).cspViolations), 'CSP violations').to.deep.equal([]);
    expect(unrendered, 'operations Redoc did not render').to.deep.equal([]);
  });
});
