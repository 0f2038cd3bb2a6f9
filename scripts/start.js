#!/usr/bin/env node
'use strict';
// `npm start`: build if needed (incremental, about a second when up to date), then run the
// runtime: Node-RED with the ROC palette, the main bridge flow and the embedded AMC simulator.
require('./build.js');
require('../dist/bin/runtime.js')
  .main()
  .catch((err) => {
    console.error('ROC Bridge failed to start:', err && err.message ? err.message : err);
    process.exit(1);
  });
