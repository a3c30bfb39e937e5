import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

/** Starts test/support/workerProcess.ts as its own process (so a test can SIGKILL it); resolves once it polls. */
export function startWorkerProcess(env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--require', 'tsx/cjs', join(__dirname, 'workerProcess.ts')], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('worker ready')) resolve(child);
    });
    child.on('exit', (code) => reject(new Error(`worker process exited early with ${code}`)));
  });
}

/** Stops the worker processes still running (SIGTERM), waiting for each to exit. */
export async function stopWorkerProcesses(children: (ChildProcess | undefined)[]): Promise<void> {
  for (const child of children) {
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    }
  }
}
