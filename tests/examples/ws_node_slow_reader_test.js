#!/usr/bin/env node
// End-to-end: node's `ws` clients that stop reading (issue 16) against
// examples/ws_echo, on loopback.
//
// Usage: node ws_node_slow_reader_test.js <build/examples/ws_echo>
//
// - A client that stops reading (its socket paused) and goes on sending
//   4 KiB messages: the server closes it within --write-timeout (plus a
//   guard), its RSS stays within RSS_BOUND of what it was, another client
//   is served meanwhile; when the client resumes, what it gets is whole
//   echoes in order (ws reports any broken frame as an error), then the
//   end. The server's RSS is back within the bound after the close.
// - A client with backpressure: it sends 300 messages of 8 KiB while
//   paused, then reads in bursts, pausing 10 ms after every 10th echo: every echo
//   arrives intact and in order, and the close handshake ends it (1000).
// Every wait is a guard against a hung server, never a measure of speed.
// Prints "N passed, M failed"; exits 1 on failure.
'use strict';
const { execFileSync } = require('child_process');
const fs = require('fs');
const { WebSocket, check, startServer, stopServer, finish } = require('../support/node_testing');

const GUARD_MS = 15000;
const WRITE_TIMEOUT_S = 2;
const RSS_BOUND = 24 * 1024 * 1024;
// Under AddressSanitizer freed memory waits in a quarantine before reuse:
// a small one keeps the bound meaningful there; other builds ignore it.
const SERVER_ENV = { ...process.env, ASAN_OPTIONS: `${process.env.ASAN_OPTIONS || ''}:quarantine_size_mb=4` };

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function rss(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch (e) {
    return 0;
  }
}

// The server's side of its established connections (by ss).
function established(port) {
  const out = execFileSync('ss', ['-Htn', 'state', 'established', `( sport = :${port} )`], { encoding: 'utf8' });
  return out.split('\n').filter((l) => l.trim()).length;
}

function connect(url) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    ws.got = [];
    ws.errors = [];
    ws.on('message', (data) => ws.got.push(data.toString()));
    ws.on('error', (e) => ws.errors.push(String(e)));
    ws.closed = new Promise((res) => ws.on('close', (code) => res(code)));
    ws.on('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

async function served(url) {
  const ws = await connect(url);
  ws.send('still here');
  const deadline = Date.now() + GUARD_MS;
  while (!ws.got.length && Date.now() < deadline) await sleep(10);
  ws.close();
  await ws.closed;
  return ws.got[0] === 'still here';
}

async function neverReads(binary) {
  const srv = await startServer(binary, ['--no-deflate', '--ping-interval', '0', '--write-timeout',
    String(WRITE_TIMEOUT_S), '--max-queued', String(1 << 20)], SERVER_ENV);
  try {
    const url = `ws://127.0.0.1:${srv.port}/ws`;
    const before = rss(srv.proc.pid);
    let peak = before;
    const ws = await connect(url);
    ws._socket.pause();  // stop reading: nothing more is taken from the kernel
    const sent = [];
    for (let i = 0; i < 3000; i++) {
      const m = `${i}:`.padEnd(4096, 'n');
      sent.push(m);
      ws.send(m);
    }
    const t0 = Date.now();
    const others = await served(url);
    let closedAfter = null;
    while (Date.now() - t0 < WRITE_TIMEOUT_S * 1000 + GUARD_MS) {
      peak = Math.max(peak, rss(srv.proc.pid));
      if (established(srv.port) === 0) {
        closedAfter = (Date.now() - t0) / 1000;
        break;
      }
      await sleep(100);
    }
    check('never reads: another client is served meanwhile', others);
    check('never reads: the server closes the connection', closedAfter !== null, 'still open');
    check('never reads: ... within the write timeout (and a guard)',
      closedAfter !== null && closedAfter < WRITE_TIMEOUT_S + GUARD_MS / 1000, String(closedAfter));
    check('never reads: RSS stays bounded', peak - before < RSS_BOUND, `grew ${peak - before} bytes`);
    ws._socket.resume();
    const code = await Promise.race([ws.closed, sleep(GUARD_MS).then(() => null)]);
    const after = rss(srv.proc.pid);
    console.log(`never reads: ${sent.length} messages sent, ${ws.got.length} echoes read after resuming; ` +
      `RSS ${before} -> peak ${peak} (+${Math.round((peak - before) / 1024)} KiB), after the close ${after}; ` +
      `closed after ${closedAfter} s with ${code}`);
    check('never reads: the client sees the end', code !== null);
    check('never reads: no broken frame', ws.errors.length === 0, ws.errors.join('; '));
    check('never reads: whole echoes in order', ws.got.every((m, i) => m === sent[i]), `${ws.got.length} echoes`);
    check('never reads: not every echo (the rest was dropped)', ws.got.length < sent.length);
    check('never reads: the queue is freed (RSS within the bound after the close)', after - before < RSS_BOUND,
      `${after - before} bytes`);
    check('never reads: the server still serves', await served(url));
  } finally {
    await stopServer(srv);
  }
}

async function readsSlowly(binary) {
  const srv = await startServer(binary, ['--no-deflate', '--ping-interval', '0', '--write-timeout', '30',
    '--max-queued', String(8 << 20)], SERVER_ENV);
  try {
    const ws = await connect(`ws://127.0.0.1:${srv.port}/ws`);
    ws._socket.pause();
    const sent = [];
    for (let i = 0; i < 300; i++) {
      const m = `${i}:`.padEnd(8192, String.fromCharCode(97 + (i % 26)));
      sent.push(m);
      ws.send(m);
    }
    await sleep(300);  // the server's writes back up meanwhile
    // Then read in bursts: every 10th message pauses the socket for 10 ms.
    let bursts = 0;
    ws.on('message', () => {
      if (ws.got.length % 10 !== 0 || ws.got.length === sent.length) return;
      ws._socket.pause();
      bursts++;
      setTimeout(() => ws._socket.resume(), 10);
    });
    ws._socket.resume();
    const deadline = Date.now() + 4 * GUARD_MS;
    while (ws.got.length < sent.length && Date.now() < deadline) await sleep(20);
    check('backpressure: every echo arrives', ws.got.length === sent.length, `${ws.got.length} of ${sent.length}`);
    check('backpressure: intact and in order', ws.got.every((m, i) => m === sent[i]));
    check('backpressure: no broken frame', ws.errors.length === 0, ws.errors.join('; '));
    ws.close(1000);
    const code = await Promise.race([ws.closed, sleep(GUARD_MS).then(() => null)]);
    check('backpressure: the close handshake ends it', code === 1000, String(code));
    console.log(`backpressure: ${ws.got.length} echoes of 8 KiB read in ${bursts} bursts`);
  } finally {
    await stopServer(srv);
  }
}

async function main() {
  const binary = process.argv[2];
  await neverReads(binary);
  await readsSlowly(binary);
}

finish(main());
