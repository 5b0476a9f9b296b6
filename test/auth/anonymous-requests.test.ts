// Every operation of the contract that is not public refuses a request without a token with 401
// and a Bearer challenge, and changes nothing. One loop over the contract's operations, so an
// operation added without auth fails here without anyone writing a test for it.
import { expect } from 'chai';
import { newUser, sharedApi, type TestApi, type TestUser } from '../support/api.ts';
import { contractOperations, type ContractOperation } from '../support/contract.ts';
import { existingTask, expectMissingToken, listAllTasksAs, readTaskAs } from '../support/tasks.ts';

/** The operation's path with its parameters filled in: the user's own id and task, examples for the rest. */
function pathFor(operation: ContractOperation, user: TestUser, taskId: string): string {
  return operation.path.replaceAll(/\{(\w+)\}/g, (_, name: string) => {
    if (name === 'user_id') return encodeURIComponent(user.id);
    if (name === 'task_id') return taskId;
    const example = operation.parameters.find((parameter) => parameter.in === 'path' && parameter.name === name)?.example;
    expect(example, `an example for the path parameter ${name} of ${operation.operationId}`).to.not.equal(undefined);
    return encodeURIComponent(String(example));
  });
}

describe('every operation that needs a token, called without one', () => {
  const guarded = contractOperations.filter((operation) => !operation.isPublic);

  it('is most of the contract (the loop below is not vacuous)', () => {
    expect(guarded.length).to.be.at.least(17);
  });

  for (const operation of guarded) {
    it(`${operation.operationId} (${operation.method} ${operation.path}) returns 401 with a Bearer challenge, and changes nothing`, async () => {
      const api: TestApi = await sharedApi();
      const user = await newUser();
      const task = await existingTask(api, user);
      const path = pathFor(operation, user, task.id);

      const request = api.http[operation.method.toLowerCase() as 'get'](path);
      // A body when the operation takes one: the token is checked before the body is.
      const response = await (operation.requestBody ? request.send({ title: 'Anonymous' }) : request);

      expectMissingToken(response, path);
      expect(await readTaskAs(api, user, task.id)).to.deep.equal(task);
      expect(await listAllTasksAs(api, user)).to.deep.equal([task]);
    });
  }
});
