// Mocha root hooks (loaded by .mocharc.json): one PostgreSQL server for the whole run.
import { closeSharedApi } from './api.ts';
import { startTestDatabaseServer, stopTestDatabaseServer } from './database.ts';
import { assertServerValidatesResponses } from './response-validation.ts';

export const mochaHooks = {
  async beforeAll(this: Mocha.Context) {
    this.timeout(60_000);
    await startTestDatabaseServer();
    await assertServerValidatesResponses();
  },
  async afterAll(this: Mocha.Context) {
    this.timeout(30_000);
    await closeSharedApi();
    await stopTestDatabaseServer();
  },
};
