// A trivial HTTP server answering the workload's requests with canned bodies of the API's sizes, so
// the generator's own ceiling can be measured: what it reaches here, it cannot exceed against the API.
import { randomUUID } from 'node:crypto';
import http from 'node:http';

const task = (id: string) => ({
  id,
  user_id: 'bench-user-0001',
  title: 'Bench task',
  description: 'Seeded by make bench',
  completed: false,
  status: 'pending',
  completed_at: null,
  created_at: '2026-11-23T18:00:00.000Z',
  updated_at: '2026-11-23T18:00:00.000Z',
});
const listBody = JSON.stringify(Array.from({ length: 20 }, () => task(randomUUID())));
const oneBody = JSON.stringify(task(randomUUID()));

const server = http.createServer((request, response) => {
  request.resume();
  request.on('end', () => {
    if (request.method === 'DELETE') return response.writeHead(204).end();
    if (request.method === 'POST') {
      return response.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify(task(randomUUID())));
    }
    const body = request.url === '/api/tasks' ? listBody : oneBody;
    response.writeHead(200, { 'content-type': 'application/json' }).end(body);
  });
});
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => {
  console.log(JSON.stringify({ port: (server.address() as { port: number }).port }));
});
process.on('SIGTERM', () => process.exit(0));
