/**
 * Starts the ROC Bridge runtime exactly as `npm start` does (node scripts/start.js), on an
 * ephemeral port with a throw-away user dir, and stops it with SIGINT like Ctrl-C.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface StartedRuntime {
  url: string;
  proc: ChildProcess;
  output: () => string;
  /** SIGINT, then resolves with the exit code. */
  stop(): Promise<number | null>;
}

const ROOT = path.resolve(__dirname, '..', '..');

export async function startRuntimeProcess(env: Record<string, string> = {}, timeoutMs = 30000): Promise<StartedRuntime> {
  const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'roc-bridge-e2e-'));
  const proc = spawn(process.execPath, [path.join(ROOT, 'scripts', 'start.js')], {
    cwd: ROOT,
    env: {
      ...process.env,
      ROC_PORT: '0',
      ROC_HOST: '127.0.0.1',
      ROC_USER_DIR: userDir,
      ROC_DEV_CERT_DIR: path.join(userDir, 'certs'),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));

  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`runtime not ready after ${timeoutMs} ms:\n${out}`)), timeoutMs);
    const check = () => {
      const m = /ROC Bridge ready at (http:\/\/\S+?\/)\s/.exec(out);
      if (m) {
        clearTimeout(timer);
        proc.stdout!.off('data', check);
        resolve(m[1]);
      }
    };
    proc.stdout!.on('data', check);
    exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`runtime exited with ${code} before being ready:\n${out}`));
    });
  });

  return {
    url,
    proc,
    output: () => out,
    async stop() {
      if (proc.exitCode === null) proc.kill('SIGINT');
      const code = await exited;
      fs.rmSync(userDir, { recursive: true, force: true });
      return code;
    },
  };
}

export async function postJson(url: string, body: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, json };
}
