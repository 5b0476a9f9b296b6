-- task_reminders_json is now written out in the statements that return tasks (taskColumns in
-- src/database/tasks.ts): PostgreSQL cannot inline a SQL function with an aggregate, so each row of
-- a list called it through the function executor, which cost about as much as the list itself.
drop function task_reminders_json(text, uuid);
