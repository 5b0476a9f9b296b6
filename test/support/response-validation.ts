// Proof, run by the root hook before any test, that the APIs the tests start validate their
// responses against the contract: an API whose database rows are corrupted after the row parser
// (a blank title, which the contract forbids) must answer 500, not pass the bad task on.
import type { Interceptor } from 'slonik';
import { newUser, startTestApi } from './api.ts';

const blankTitles: Interceptor = {
  name: 'blank-titles',
  transformRow: (_context, _query, row) => ('title' in row ? { ...row, title: '' } : row),
};

export async function assertServerValidatesResponses(): Promise<void> {
  const api = await startTestApi({ interceptors: [blankTitles] });
  try {
    const user = await newUser('response-validation');
    const response = await api.http.post('/api/tasks').set('authorization', user.authorization).send({ title: 'Valid title' });
    if (response.status !== 500) {
      throw new Error(
        `The test API's response validation is off: a task with a blank title got ${response.status} instead of 500. ` +
          'Every test relies on the server checking its responses against the contract.',
      );
    }
  } finally {
    await api.close();
  }
}
