/** Drives test/support/events-child.js (the compiled event stream in its own Node process). */
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';

export interface EventsChild {
  proc: ChildProcess;
  ask(m: Record<string, unknown>): Promise<Record<string, any>>;
  exit(): Promise<void>;
}

export async function startEventsChild(): Promise<EventsChild> {
  const proc = fork(path.join(__dirname, 'events-child.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  await new Promise<void>((resolve, reject) => {
    proc.once('message', () => resolve());
    proc.once('error', reject);
  });
  let chain = Promise.resolve() as Promise<unknown>;
  const ask = (m: Record<string, unknown>) => {
    const p = chain.then(
      () =>
        new Promise<Record<string, any>>((resolve, reject) => {
          proc.once('message', (r: Record<string, any>) =>
            r.ok ? resolve(r) : reject(Object.assign(new Error(r.error), { code: r.code })),
          );
          proc.send(m);
        }),
    );
    chain = p.catch(() => undefined);
    return p;
  };
  return {
    proc,
    ask,
    async exit() {
      if (proc.exitCode === null) proc.send({ cmd: 'exit' });
      await exited;
    },
  };
}
