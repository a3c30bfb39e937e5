import { createServer, type Server } from 'node:net';
import { freePort, portOrFree } from '../../src/runtime/devServer';

/** A real listener holding a port, as another server on 7233 would. */
async function hold(): Promise<{ port: number; server: Server }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as { port: number }).port, server };
}

test('a free preferred port is taken as it is, without a word', async () => {
  const port = await freePort();
  const heard: number[] = [];
  expect(await portOrFree(port, (p) => heard.push(p))).toBe(port);
  expect(heard).toEqual([]);
});

test('a taken preferred port falls back to a free one, and the fallback is announced', async () => {
  const { port, server } = await hold();
  try {
    const heard: number[] = [];
    const chosen = await portOrFree(port, (p) => heard.push(p));
    expect(chosen).not.toBe(port);
    expect(heard).toEqual([chosen]);
    // the port it fell back to is one a server can listen on
    const probe = createServer();
    await new Promise<void>((resolve, reject) => {
      probe.once('error', reject);
      probe.listen(chosen, '127.0.0.1', resolve);
    });
    await new Promise((resolve) => probe.close(resolve));
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
});
