/**
 * The palette as a user installs it: `npm pack` the package, unpack the tarball into a fresh
 * Node-RED user directory, give it exactly the dependencies its package.json declares (linked
 * from this clone's install, so no network and no native rebuild), start Node-RED on that user
 * directory in a child process, and find every `roc-*` node type registered without error.
 *
 * It fails when `"files"` leaves out what `"node-red".nodes` points at (dist/), when an editor
 * file or locale is missing, or when compiled code requires a package that is only a
 * devDependency (it would load here from the clone, not from a user's install).
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));

let work: string;
beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'roc-pack-'));
});
afterAll(() => {
  fs.rmSync(work, { recursive: true, force: true });
});

function packTarball(): string {
  // dist/ is built by the global setup; --ignore-scripts keeps `prepare` from building twice.
  const out = execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], {
    cwd: ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const [info] = JSON.parse(out) as Array<{ filename: string; files: Array<{ path: string }> }>;
  return path.join(work, info.filename);
}

describe('npm pack → a fresh Node-RED user directory', () => {
  test('the tarball holds the compiled nodes, their editor files and nothing of the workshop', () => {
    const tarball = packTarball();
    const list = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).split('\n').filter(Boolean);
    const files = list.map((f) => f.replace(/^package\//, ''));
    for (const [type, file] of Object.entries(pkg['node-red'].nodes as Record<string, string>)) {
      expect({ type, present: files.includes(file) }).toEqual({ type, present: true });
      expect({ type, html: files.includes(file.replace(/\.js$/, '.html')) }).toEqual({ type, html: true });
    }
    expect(files.some((f) => f.startsWith('icons/'))).toBe(true);
    for (const f of files) {
      expect(f).not.toMatch(/^(test|bench|simulator|src|\.ci|flows)\//);
      expect(f).not.toMatch(/^dist\/(test|bench|simulator|bin)\//);
    }
  });

  test('installed into a fresh user directory, Node-RED registers every roc-* node type', async () => {
    const tarball = packTarball();
    const userDir = path.join(work, 'user');
    const target = path.join(userDir, 'node_modules', pkg.name);
    fs.mkdirSync(target, { recursive: true });
    execFileSync('tar', ['-xzf', tarball, '-C', target, '--strip-components=1']);
    // Exactly the declared runtime dependencies, nothing else.
    const installed = JSON.parse(fs.readFileSync(path.join(target, 'package.json'), 'utf8'));
    for (const dep of Object.keys(installed.dependencies ?? {})) {
      const link = path.join(target, 'node_modules', dep);
      fs.mkdirSync(path.dirname(link), { recursive: true });
      fs.symlinkSync(path.join(ROOT, 'node_modules', dep), link, 'dir');
    }
    expect(installed.dependencies?.['node-red']).toBeUndefined();
    expect(installed.dependencies?.express).toBeUndefined();

    // the operations page's charting library (npm uplot) resolves from the installed package
    // (served at /roc/ops/vendor/…, no CDN), and the page's files are in the tarball
    const vendor = execFileSync(
      process.execPath,
      [
        '-e',
        `process.stdout.write(JSON.stringify(require(${JSON.stringify(path.join(target, 'dist/nodes/common/ops.js'))}).vendorFile('uPlot.iife.min.js') || null))`,
      ],
      { cwd: work, encoding: 'utf8' },
    );
    // (the dependency is a symlink here: compared by real path)
    expect(JSON.parse(vendor)).toBe(fs.realpathSync(path.join(target, 'node_modules', 'uplot', 'dist', 'uPlot.iife.min.js')));
    expect(fs.readFileSync(path.join(target, 'ops', 'index.html'), 'utf8')).toContain('src="vendor/uPlot.iife.min.js"');

    // Node-RED from this clone (the host a user already has), started on the fresh user dir.
    const script = `
      const http = require('http');
      const RED = require(${JSON.stringify(path.join(ROOT, 'node_modules', 'node-red'))});
      const server = http.createServer();
      RED.init(server, {
        userDir: ${JSON.stringify(userDir)}, flowFile: 'flows.json', uiPort: 0, httpAdminRoot: false,
        httpNodeRoot: false, credentialSecret: 'pack-test', logging: { console: { level: 'off' } },
        externalModules: { autoInstall: false }, diagnostics: { enabled: false }, telemetry: { enabled: false },
      });
      RED.start().then(() => {
        const list = RED.nodes.getNodeList().filter((s) => s.module === ${JSON.stringify(pkg.name)});
        process.stdout.write(JSON.stringify(list.map((s) => ({ types: s.types, enabled: s.enabled, err: s.err ? String(s.err.message || s.err).slice(0, 300) : null }))));
        return RED.stop();
      }).then(() => process.exit(0), (e) => { process.stderr.write(String(e && e.message)); process.exit(1); });
    `;
    const out = await new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, ['-e', script], { cwd: work, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (b) => (stdout += b));
      child.stderr.on('data', (b) => (stderr += b));
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      child.on('exit', (code) => {
        clearTimeout(timer);
        if (code === 0) resolve(stdout);
        else reject(new Error(`Node-RED exited ${code}: ${stderr.slice(0, 2000)}`));
      });
    });
    const sets = JSON.parse(out) as Array<{ types: string[]; enabled: boolean; err: string | null }>;
    const errors = sets.filter((s) => s.err).map((s) => `${s.types.join(',')}: ${s.err}`);
    expect(errors).toEqual([]);
    const registered = sets.flatMap((s) => (s.enabled && !s.err ? s.types : [])).sort();
    expect(registered).toEqual(Object.keys(pkg['node-red'].nodes).sort());
  }, 90_000);
});
