#!/usr/bin/env node
// End-to-end: examples/ws_echo against node's `ws` client (npm, installed
// into the source tree's node_modules by scripts/install-npm), with and
// without permessage-deflate.
//
// Usage: node ws_node_test.js <build/examples/ws_echo>
//
// Checks echo of text and binary messages of every length class, a
// fragmented message (ws's send with fin: false), a ping answered with its
// payload, the negotiated extension (with context takeover and without),
// the close handshake with the client's code and reason, close 1009 above
// --max-message-size, 1002 for a frame with a reserved opcode written raw,
// and 100 clients at once. Prints "N passed, M failed"; exits 1 on failure.
'use strict';
const net = require('net');
const crypto = require('crypto');
const { WebSocket, check, startServer, stopServer, finish } = require('../support/node_testing');

function open(url, opts) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, opts);
    ws.answer = '';
    ws.on('upgrade', (res) => { ws.answer = res.headers['sec-websocket-extensions'] || ''; });
    const queue = [];
    const waiters = [];
    ws.on('message', (data, isBinary) => {
      const m = { data, isBinary };
      if (waiters.length) waiters.shift()(m);
      else queue.push(m);
    });
    ws.next = () => new Promise((res) => (queue.length ? res(queue.shift()) : waiters.push(res)));
    ws.closed = new Promise((res) => ws.on('close', (code, reason) => res({ code, reason: reason.toString() })));
    ws.on('open', () => resolve(ws));
    ws.on('error', reject);
  });
}

const sizes = [0, 1, 125, 126, 127, 65535, 65536, 1 << 20];

async function echoAll(url, label, opts) {
  const ws = await open(url, opts);
  const ext = ws.answer;  // the Sec-WebSocket-Extensions answer
  for (const n of sizes) {
    const text = 'squall-'.repeat(Math.ceil(n / 7) + 1).slice(0, n);
    ws.send(text);
    let m = await ws.next();
    check(`${label} text ${n}`, !m.isBinary && m.data.toString() === text);
    const bin = crypto.randomBytes(n);
    ws.send(bin);
    m = await ws.next();
    check(`${label} binary ${n}`, m.isBinary && Buffer.compare(m.data, bin) === 0);
  }
  ws.send('frag', { fin: false });
  ws.send('men', { fin: false });
  ws.send('ted', { fin: true });
  const m = await ws.next();
  check(`${label} fragmented`, m.data.toString() === 'fragmented', m.data.toString());
  const pong = new Promise((res) => ws.once('pong', res));
  ws.ping('are you there');
  check(`${label} ping answered`, (await pong).toString() === 'are you there');
  ws.close(4002, 'node done');
  const c = await ws.closed;
  check(`${label} close echoed`, c.code === 4002, JSON.stringify(c));
  return ext;
}

// A handshake on a plain socket, then raw bytes: for frames ws will not send.
function rawSession(port, bytes) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    let upgraded = false;
    s.on('connect', () => s.write('GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n'));
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (!upgraded) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        buf = buf.subarray(end + 4);
        upgraded = true;
        s.write(bytes);
      }
      if (buf.length >= 4) {
        resolve({ op: buf[0] & 0x0f, code: buf.readUInt16BE(2) });
        s.destroy();
      }
    });
    s.on('error', () => resolve(null));
  });
}

async function main() {
  const binary = process.argv[2];
  const srv = await startServer(binary, []);
  try {
    const url = `ws://127.0.0.1:${srv.port}/ws`;
    let ext = await echoAll(url, 'plain', { perMessageDeflate: false });
    check('no extension when not offered', ext === '', ext);
    ext = await echoAll(url, 'deflate', { perMessageDeflate: true });
    check('deflate negotiated', ext.startsWith('permessage-deflate'), ext);
    ext = await echoAll(url, 'deflate-no-takeover', {
      perMessageDeflate: { serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 11 },
    });
    check('deflate parameters answered', ext.includes('server_no_context_takeover') && ext.includes('server_max_window_bits=11'), ext);

    const reserved = await rawSession(srv.port, Buffer.from([0x83, 0x80, 1, 2, 3, 4]));
    check('reserved opcode closes 1002', reserved && reserved.op === 8 && reserved.code === 1002, JSON.stringify(reserved));

    const clients = [];
    for (let i = 0; i < 100; i++) {
      clients.push((async () => {
        const ws = await open(url, {});
        let ok = true;
        for (let j = 0; j < 10; j++) {
          ws.send(`client ${i} message ${j}`);
          const m = await ws.next();
          ok = ok && m.data.toString() === `client ${i} message ${j}`;
        }
        ws.close();
        await ws.closed;
        return ok;
      })());
    }
    const results = await Promise.all(clients);
    check('100 clients at once', results.every((x) => x));
  } finally {
    await stopServer(srv);
  }

  const small = await startServer(binary, ['--max-message-size', '1000']);
  try {
    const ws = await open(`ws://127.0.0.1:${small.port}/ws`, { perMessageDeflate: false });
    ws.send('y'.repeat(1001));
    const c = await ws.closed;
    check('1009 above the limit', c.code === 1009, JSON.stringify(c));
  } finally {
    await stopServer(small);
  }
}

finish(main());
