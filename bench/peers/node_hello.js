// Node's http module as squall's peer in make bench (bench/bench.py): one
// process, `GET /` -> "Hello, world!" (text/plain), keep-alive.
//
//   node bench/peers/node_hello.js PORT
'use strict';
const http = require('http');

const body = Buffer.from('Hello, world!');
const server = http.createServer((req, res) => {
  res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': body.length });
  res.end(body);
});
server.keepAliveTimeout = 75000;
server.listen(Number(process.argv[2]), '127.0.0.1', 4096);
process.on('SIGTERM', () => process.exit(0));
