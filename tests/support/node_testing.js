// Helpers shared by squall's node end-to-end tests (run by ctest with
// node): node's `ws` package (installed into the source tree's
// node_modules by scripts/install-npm), named checks with a tally, and a
// server binary started on a free loopback port.
//
//   const t = require('../support/node_testing');
//   const srv = await t.startServer(binary, ['--no-deflate']);
//   t.check('name', ok, detail); ... t.finish(main());
//
// Every wait here is a guard against a hung server, never a measure.
'use strict';
const { spawn } = require('child_process');
const net = require('net');
const path = require('path');

let WebSocket;
try {
  WebSocket = require('ws');
} catch (e) {
  WebSocket = require(path.join(__dirname, '..', '..', 'node_modules', 'ws'));
}

const tally = { passed: 0, failed: 0 };

function check(name, ok, detail = '') {
  if (ok) {
    tally.passed++;
  } else {
    tally.failed++;
    console.log(`FAIL: ${name} ${detail}`);
  }
  return ok;
}

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function startServer(binary, args, env = process.env) {
  const port = await freePort();
  const proc = spawn(binary, ['--port', String(port), ...args], { stdio: ['ignore', 'inherit', 'inherit'], env });
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise((resolve) => {
      const c = net.connect(port, '127.0.0.1', () => { c.destroy(); resolve(true); });
      c.on('error', () => resolve(false));
    });
    if (ok) return { port, proc };
    await new Promise((r) => setTimeout(r, 50));
  }
  proc.kill('SIGKILL');
  throw new Error('server did not start');
}

function stopServer(s) {
  return new Promise((resolve) => {
    if (s.proc.exitCode !== null || s.proc.signalCode !== null) {
      resolve();
      return;
    }
    s.proc.on('exit', resolve);
    s.proc.kill('SIGTERM');
  });
}

// Prints the tally once `done` settles and exits 1 on a failure or error.
function finish(done) {
  done.then(() => {
    console.log(`${tally.passed} passed, ${tally.failed} failed`);
    process.exit(tally.failed || !tally.passed ? 1 : 0);
  }, (e) => {
    console.log(`error: ${e.stack}`);
    console.log(`${tally.passed} passed, ${tally.failed + 1} failed`);
    process.exit(1);
  });
}

module.exports = { WebSocket, check, freePort, startServer, stopServer, finish, tally };
