/**
 * The front door against hostile or odd requests (issue 18, items 7 and 8), over real HTTP against a
 * worker on the suite's Temporal server: a start input nested 100,000 deep, a task that closed before
 * any worker ran it, and methods a path does not declare.
 */
import { WorkflowNotFoundError } from '@temporalio/client';
import { OPERATIONS } from '../../src/api/openapi';
import { uniqueName } from '../support/harness';
import { startFrontDoorFixture, type FrontDoorFixture } from '../support/frontDoor';

jest.setTimeout(90_000);

let door: FrontDoorFixture;

beforeAll(async () => {
  door = await startFrontDoorFixture();
});
afterAll(() => door?.stop());

/** `[[[…]]]` nested `levels` deep, as JSON text (no recursion to build or print it). */
const nestedJson = (levels: number, leaf = '"x"') => `${'['.repeat(levels)}${leaf}${']'.repeat(levels)}`;

async function exists(taskId: string): Promise<boolean> {
  try {
    await door.harness.client.client.workflow.getHandle(taskId).describe();
    return true;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}

test('a start input nested 100,000 deep is a 400 naming the limit, and never reaches Temporal', async () => {
  const taskId = uniqueName('deep');
  const res = await door.call('POST', '/v1/tasks', {
    as: 'bob',
    rawBody: `{"agent":"api-file-writer","taskId":"${taskId}","input":${nestedJson(100_000)}}`,
  });
  expect(res.status).toBe(400);
  expect(res.body.error).toEqual({
    code: 'invalid_request',
    message: 'body.input: nested deeper than 64 levels of arrays and objects (the limit is 64)',
  });
  expect(await exists(taskId)).toBe(false);
  // a decision's edits are bounded the same way
  const edits = await door.call('POST', '/v1/tasks/some-task/decision', {
    as: 'alice',
    rawBody: `{"decision":"approve","approvalId":"a","digest":"${'f'.repeat(64)}","edits":{"content":${nestedJson(70)}}}`,
  });
  expect(edits.status).toBe(400);
  expect(edits.body.error.message).toMatch(/^body\.edits\.content: nested deeper than 64 levels/);
});

test('StewardClient.start refuses such an input itself, before the blob store or Temporal', async () => {
  const taskId = uniqueName('deep-client');
  const input = JSON.parse(nestedJson(100_000)) as unknown;
  await expect(
    door.harness.client.start({ agent: 'api-file-writer', principal: 'bob', input, taskId }),
  ).rejects.toThrow('input: nested deeper than 64 levels of arrays and objects (the limit is 64)');
  expect(await exists(taskId)).toBe(false);
});

test('an input 64 levels deep is still started', async () => {
  const res = await door.call('POST', '/v1/tasks', {
    as: 'bob',
    rawBody: `{"agent":"api-file-writer","input":${nestedJson(63, '{"path":"deep.txt"}')}}`,
  });
  expect(res.status).toBe(201);
  await door.call('POST', `/v1/tasks/${res.body.taskId}/cancel`, { as: 'bob', body: {} });
});

test('a task that closed before any worker ran it is a 409 saying how it closed, not a 500', async () => {
  const taskId = uniqueName('closed-at-once');
  // a start on a queue no worker polls, terminated at once: Temporal has no state to answer a query with
  const handle = await door.harness.client.client.workflow.start('agentRun', {
    taskQueue: uniqueName('nobody-polls'),
    workflowId: taskId,
    args: [{ agent: 'api-file-writer', principal: 'bob' }],
  });
  await handle.terminate('closed at once');
  for (const path of [
    `/v1/tasks/${taskId}`,
    `/v1/tasks/${taskId}/audit`,
    `/v1/tasks/${taskId}/audit/verify`,
  ]) {
    const res = await door.call('GET', path, { as: 'carol' });
    expect({ path, status: res.status, code: res.body.error?.code }).toEqual({
      path,
      status: 409,
      code: 'conflict',
    });
    expect(res.body.error.message).toMatch(
      new RegExp(`^task ${taskId} closed \\(terminated\\) at \\S+Z before any worker ran it`),
    );
  }
  // a task Temporal does not know is still a 404
  const missing = await door.call('GET', `/v1/tasks/${uniqueName('never-started')}/audit/verify`, {
    as: 'carol',
  });
  expect(missing.status).toBe(404);
});

test('a method a path does not declare is 405 with an Allow header, after the caller is checked', async () => {
  const cases: Array<[string, string, string]> = [
    ['DELETE', '/v1/tasks', 'POST, GET, HEAD'],
    ['PUT', '/v1/tasks/some-task', 'GET, HEAD'],
    ['GET', '/v1/tasks/some-task/decision', 'POST'],
    ['PATCH', '/v1/tasks/some-task/cancel', 'POST'],
    ['POST', '/v1/me', 'GET, HEAD'],
    ['PATCH', '/openapi.json', 'GET, HEAD'],
    ['DELETE', '/v1/approvals', 'GET, HEAD'],
  ];
  for (const [method, path, allow] of cases) {
    const res = await door.call(method, path, { as: 'carol' });
    expect({ method, path, status: res.status, allow: res.headers.get('allow') }).toEqual({
      method,
      path,
      status: 405,
      allow,
    });
    expect(res.body.error).toEqual({
      code: 'method_not_allowed',
      message: `${method} is not allowed here; use ${allow}`,
    });
  }
  // a wrong method with a body of the wrong type is still the wrong method
  const put = await door.call('PUT', '/v1/tasks', { as: 'carol', rawBody: 'x', contentType: 'text/plain' });
  expect(put.status).toBe(405);
  // no caller: 401 first, as on every route
  expect((await door.call('DELETE', '/v1/tasks', { as: null })).status).toBe(401);
  // an unknown path is still 404
  expect((await door.call('DELETE', '/v1/nothing-here', { as: 'carol' })).status).toBe(404);
});

test('/openapi.json documents every status each route answers, and every field of an audit entry', async () => {
  const doc = (await door.call('GET', '/openapi.json', { as: 'carol' })).body;
  const statuses = (path: string, method: string) => Object.keys(doc.paths[path][method].responses);
  expect(statuses('/v1/tasks/{taskId}', 'get')).toEqual([
    '200',
    '400',
    '401',
    '403',
    '404',
    '409',
    '429',
    '500',
    '503',
  ]);
  expect(statuses('/v1/tasks', 'post')).toEqual(expect.arrayContaining(['201', '409', '413', '415']));
  expect(statuses('/v1/me', 'get')).toEqual(['200', '401', '429', '500']);
  for (const op of OPERATIONS) expect(doc.paths[op.path][op.method]).toBeDefined();
  const entry =
    doc.paths['/v1/tasks/{taskId}/audit'].get.responses['200'].content['application/json'].schema.properties
      .entries.items;
  expect(Object.keys(entry.properties)).toEqual(
    expect.arrayContaining(['v', 'taskId', 'actor', 'seq', 'hash']),
  );
  expect(doc.components.schemas.Error.properties.error.properties.code.enum).toContain('method_not_allowed');
});
