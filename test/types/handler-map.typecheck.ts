// Type-level tests, compiled by `make typecheck` (tsc) and never run. Each `@ts-expect-error`
// line must fail to compile: if a change to contract.ts ever lets one of these mistakes through,
// the directive becomes unused and tsc fails the build.
import type { AuthenticatedHandler, HandlerMap, HandlerResult, PublicHandler, RowFitsContract, Task } from '../../src/contract.ts';
import { handlers } from '../../src/handlers.ts';

declare const task: Task;

// The real map fits the contract exactly.
handlers satisfies HandlerMap;

// A well-formed handler compiles (so the failures below fail for the reason they name).
export const wellFormed: AuthenticatedHandler<'getTask'> = async () => ({ status: 200, body: task });
export const wellFormedDelete: AuthenticatedHandler<'deleteTask'> = async () => ({ status: 204 });
export const wellFormedCreate: AuthenticatedHandler<'createTask'> = async () => ({ status: 201, body: task, headers: { Location: '/x' } });

// A missing operation fails.
const { getTask: _omitted, ...withoutGetTask } = handlers;
// @ts-expect-error getTask is missing from the map
export const missingOperation: HandlerMap = withoutGetTask;

// An operation the contract does not have fails.
// @ts-expect-error archiveTask is not an operation of the contract
export const extraOperation: HandlerMap = { ...handlers, archiveTask: handlers.getTask };

// A body field the contract does not have fails, in a literal body...
// @ts-expect-error `done` is not a property of Task
export const extraField = { status: 200, body: { ...task, done: true } } satisfies HandlerResult<'getTask'>;

// ...and in a query row type (handlers return rows as bodies; database/tasks.ts asserts this).
// @ts-expect-error a row with a column the contract does not have
true satisfies RowFitsContract<Task & { owner_user_id: string }, Task>;
// @ts-expect-error a row without a property the contract requires
true satisfies RowFitsContract<Omit<Task, 'status'>, Task>;
// @ts-expect-error a row whose column has another type
true satisfies RowFitsContract<Omit<Task, 'completed'> & { completed: 'yes' | 'no' }, Task>;
true satisfies RowFitsContract<Task, Task>;

// A body missing a required field fails.
// @ts-expect-error `user_id` is required
export const missingField: AuthenticatedHandler<'getTask'> = async () => ({ status: 200, body: { ...task, user_id: undefined } });

// A mistyped field fails.
// @ts-expect-error `completed` is a boolean
export const mistypedField: AuthenticatedHandler<'getTask'> = async () => ({ status: 200, body: { ...task, completed: 'yes' } });

// A success status the operation does not document fails.
// @ts-expect-error getTask answers 200, not 201
export const wrongStatus: AuthenticatedHandler<'getTask'> = async () => ({ status: 201, body: task });

// @ts-expect-error deleteTask answers 204, not 200
export const wrongDeleteStatus: AuthenticatedHandler<'deleteTask'> = async () => ({ status: 200 });

// A body on a 204 fails.
// @ts-expect-error a 204 has no body
export const bodyOn204: AuthenticatedHandler<'deleteTask'> = async () => ({ status: 204, body: task });

// A list operation must return an array of tasks.
// @ts-expect-error listTasks returns Task[]
export const notAnArray: AuthenticatedHandler<'listTasks'> = async () => ({ status: 200, body: task });

// Public probes get no owner: reading one is a compile error.
// @ts-expect-error health has no authenticated caller
export const probeReadsOwner: PublicHandler<'health'> = async (input) => ({ status: 200, body: { status: input.ownerUserId } });
