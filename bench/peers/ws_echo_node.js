#!/usr/bin/env node
// A WebSocket echo server on node's `ws` package, a peer for squall's
// tests and benchmarks: every text and binary message comes back as it
// came. Usage: node ws_echo_node.js --port N [--host 127.0.0.1] [--deflate]
// Prints "listening on PORT" once ready. `ws` is installed into the source
// tree's node_modules by scripts/install-npm (make deps).
'use strict';
const path = require('path');
let WebSocketServer;
try {
  ({ WebSocketServer } = require('ws'));
} catch (e) {
  ({ WebSocketServer } = require(path.join(__dirname, '..', '..', 'node_modules', 'ws')));
}

function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const port = Number(arg('--port', '9000'));
const host = arg('--host', '127.0.0.1');
const deflate = process.argv.includes('--deflate');

const wss = new WebSocketServer({ host, port, perMessageDeflate: deflate, maxPayload: 10 * 1024 * 1024 });
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on('error', () => {});
});
wss.on('listening', () => console.log(`listening on ${wss.address().port}`));
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
