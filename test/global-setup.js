// The end-to-end tests start the compiled runtime exactly as `npm start` does, so make sure
// dist/ is up to date before any test runs (incremental tsc: about a second when nothing changed).
const { execFileSync } = require('child_process');
const path = require('path');
module.exports = async () => {
  execFileSync(process.execPath, [path.join(__dirname, '..', 'scripts', 'build.js')], { stdio: 'inherit' });
};
