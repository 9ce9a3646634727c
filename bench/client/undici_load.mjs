// The node side of bench/client_bench.py: CONNECTIONS async loops fetch
// URL with node's built-in fetch (undici) until REQUESTS responses came;
// prints "ok=N bytes=B".
//
//   node undici_load.mjs URL CONNECTIONS REQUESTS
const [url, connections, requests] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])];
let remaining = requests, ok = 0, failed = 0, bytes = 0;
async function worker() {
  while (remaining > 0) {
    --remaining;
    try {
      const r = await fetch(url);
      const body = await r.arrayBuffer();
      if (r.status === 200) { ++ok; bytes += body.byteLength; } else ++failed;
    } catch (e) {
      ++failed;
    }
  }
}
await Promise.all(Array.from({ length: connections }, worker));
console.log(`ok=${ok} failed=${failed} bytes=${bytes}`);
process.exit(failed ? 1 : 0);
