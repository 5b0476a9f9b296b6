// The page each problem `type` dereferences to (GET /problems/{slug}), and the agreement between
// the types the code answers with (src/problems.ts) and those the contract lists (ProblemType).
import { expect } from 'chai';
import { problemTypes } from '../../src/problems.ts';
import { sharedApi } from '../support/api.ts';
import { contractProblemTypes } from '../support/contract.ts';
import { expectProblem } from '../support/tasks.ts';

describe('problemTypePage', () => {
  it('serves, with no token, a page for every problem type in the contract, with its title, status and meaning', async () => {
    const api = await sharedApi();
    expect(contractProblemTypes.size, 'the contract lists problem types').to.be.above(30);
    for (const [slug, { status, title, description }] of contractProblemTypes) {
      const response = await api.http.get(`/problems/${slug}`);
      expect(response.status, slug).to.equal(200);
      expect(response.headers['content-type']).to.equal('text/html; charset=utf-8');
      const escaped = (text: string) => text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');
      expect(response.text).to.include(`<h1>${escaped(title)}</h1>`);
      expect(response.text).to.include(`<code>/problems/${slug}</code>, answered with HTTP status <strong>${status}</strong>`);
      expect(response.text).to.include(`<p>${escaped(description)}</p>`);
      expect(response.text).to.include('<a href="/docs">');
      expect(response.text).not.to.match(/(src|href)="https?:/);
    }
  });

  it('returns 404 path-not-found for a slug that names no problem type', async () => {
    const api = await sharedApi();
    expectProblem(await api.http.get('/problems/task-lost'), { type: 'path-not-found', instance: '/problems/task-lost' });
  });

  it('returns 422 validation-failed for a slug that cannot be one (not kebab-case)', async () => {
    const api = await sharedApi();
    expectProblem(await api.http.get('/problems/Task_Lost'), {
      type: 'validation-failed',
      instance: '/problems/Task_Lost',
      errors: [{ path: '/params/slug', keyword: 'invalid_format' }],
    });
  });
});

describe('the problem types', () => {
  it('are the same set in the code and in the contract, with the same status and title each', () => {
    const inCode = Object.entries(problemTypes).map(([slug, { status, title }]) => ({ slug, status, title }));
    const inContract = [...contractProblemTypes].map(([slug, { status, title }]) => ({ slug, status, title }));
    const bySlug = (a: { slug: string }, b: { slug: string }) => a.slug.localeCompare(b.slug);
    expect(inCode.sort(bySlug)).to.deep.equal(inContract.sort(bySlug));
  });

  it('each say in the contract what they mean, with an error status', () => {
    for (const [slug, { status, title, description }] of contractProblemTypes) {
      expect(slug, 'kebab-case slug').to.match(/^[a-z0-9]+(-[a-z0-9]+)*$/);
      expect(status, slug).to.be.within(400, 599);
      expect(title, slug).to.be.a('string').and.not.equal('');
      expect(description, slug).to.be.a('string').and.have.length.above(20);
    }
  });
});
