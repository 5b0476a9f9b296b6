// One handler per operationId. A handler makes the HTTP decisions (which queries, which status,
// 404 or 200); each query is one SQL statement in database/. The user-scoped compatibility
// routes (`/api/{user_id}/tasks…`) reuse the same handlers: their `{user_id}` has already been
// checked against the token, and the owner always comes from the token.
import type { AuthenticatedHandler, HandlerMap, HandlerResult, TaskStatus } from './contract.ts';
import { pingDatabase } from './database/pool.ts';
import { documentationHandlers } from './docs.ts';
import {
  deleteTaskById,
  insertTask,
  selectTaskById,
  selectTasksNewestFirst,
  updateTaskById,
  type StatusChange,
} from './database/tasks.ts';
import { ProblemError, retryAfterSeconds, taskNotFound } from './problems.ts';

type CompletionFields = { readonly completed?: boolean; readonly status?: TaskStatus };

/** Reads `completed` and `status` together; when both are sent they must agree. */
function statusChange(fields: CompletionFields): StatusChange | undefined {
  const { completed, status } = fields;
  if (status !== undefined && completed !== undefined && (status === 'completed') !== completed) {
    throw new ProblemError(422, 'completed and status disagree.', {
      errors: [{ path: '/body/status', message: 'must be "completed" exactly when completed is true' }],
    });
  }
  if (status !== undefined) return { kind: 'set', status };
  if (completed !== undefined) return { kind: completed ? 'complete' : 'reopen' };
  return undefined;
}

/** A new task is pending unless the request says otherwise. */
function initialStatus(change: StatusChange | undefined): TaskStatus {
  if (change?.kind === 'set') return change.status;
  return change?.kind === 'complete' ? 'completed' : 'pending';
}

const listTasks: AuthenticatedHandler<'listTasks'> = async ({ ownerUserId, query, requestPath }, { db }) => {
  // The validator has applied the contract's defaults; these only satisfy the optional types.
  const { limit = 50, offset = 0 } = query;
  const page = await selectTasksNewestFirst(db, ownerUserId, { limit, offset });
  const links = [
    page.hasMore && `<${requestPath}?limit=${limit}&offset=${offset + limit}>; rel="next"`,
    offset > 0 && `<${requestPath}?limit=${limit}&offset=${Math.max(0, offset - limit)}>; rel="prev"`,
  ].filter((link) => link !== false);
  const headers: Record<string, string> = {};
  if (links.length > 0) headers.Link = links.join(', ');
  return { status: 200, body: [...page.tasks], headers };
};

const createTask: AuthenticatedHandler<'createTask'> = async ({ ownerUserId, body, requestPath }, { db }) => {
  const status = initialStatus(statusChange(body));
  const task = await insertTask(db, ownerUserId, { title: body.title, description: body.description ?? null, status });
  return { status: 201, body: task, headers: { Location: `${requestPath}/${task.id}` } };
};

const getTask: AuthenticatedHandler<'getTask'> = async ({ ownerUserId, params }, { db }) => {
  const task = await selectTaskById(db, ownerUserId, params.task_id);
  if (!task) throw taskNotFound();
  return { status: 200, body: task };
};

const replaceTask: AuthenticatedHandler<'replaceTask'> = async ({ ownerUserId, params, body }, { db }) => {
  const task = await updateTaskById(db, ownerUserId, params.task_id, {
    title: body.title,
    description: body.description ?? null,
    status: statusChange(body),
  });
  if (!task) throw taskNotFound();
  return { status: 200, body: task };
};

const updateTask: AuthenticatedHandler<'updateTask'> = async ({ ownerUserId, params, body }, { db }) => {
  const task = await updateTaskById(db, ownerUserId, params.task_id, {
    title: body.title,
    description: body.description,
    status: statusChange(body),
  });
  if (!task) throw taskNotFound();
  return { status: 200, body: task };
};

const deleteTask: AuthenticatedHandler<'deleteTask'> = async ({ ownerUserId, params }, { db }) => {
  if (!(await deleteTaskById(db, ownerUserId, params.task_id))) throw taskNotFound();
  return { status: 204 };
};

const completeTask: AuthenticatedHandler<'completeTask'> = async ({ ownerUserId, params, body }, { db }) => {
  const status: StatusChange = body === undefined ? { kind: 'toggle' } : { kind: body.completed ? 'complete' : 'reopen' };
  const task = await updateTaskById(db, ownerUserId, params.task_id, { status });
  if (!task) throw taskNotFound();
  return { status: 200, body: task };
};

const ok = { status: 200, body: { status: 'ok' } } as const satisfies HandlerResult<'health'>;

export const handlers: HandlerMap = {
  listTasks,
  createTask,
  getTask,
  replaceTask,
  updateTask,
  deleteTask,
  completeTask,
  listUserTasks: (input, context) => listTasks(input, context),
  createUserTask: (input, context) => createTask(input, context),
  getUserTask: (input, context) => getTask(input, context),
  replaceUserTask: (input, context) => replaceTask(input, context),
  updateUserTask: (input, context) => updateTask(input, context),
  deleteUserTask: (input, context) => deleteTask(input, context),
  completeUserTask: (input, context) => completeTask(input, context),
  health: async () => ok,
  ready: async (_input, { db, isShuttingDown }) => {
    if (isShuttingDown()) {
      throw new ProblemError(503, 'The server is shutting down.', { headers: { 'Retry-After': retryAfterSeconds } });
    }
    await pingDatabase(db);
    return ok;
  },
  ...documentationHandlers,
};
