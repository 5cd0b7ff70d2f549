/**
 * The ceiling for HTTP benchmarks: a bare `node:http` server that reads the request body and
 * answers a fixed, pre-encoded JSON body. Whatever adstack does on top (routing, JSON parsing,
 * schema validation, the decision itself, serialisation, metrics, logging) shows up as the gap
 * between this server and the real one, measured in the same run on the same machine.
 *
 * Env: BENCH_PORT (required), BENCH_BODY (the exact bytes to answer; defaults to `{}`).
 */
import http from 'node:http';

const port = Number(process.env.BENCH_PORT);
if (!Number.isInteger(port) || port <= 0) {
  process.stderr.write('baseline-server: BENCH_PORT must be a port number\n');
  process.exit(2);
}
// Encoded once: the baseline must cost as little per request as a Node HTTP server can.
const body = Buffer.from(process.env.BENCH_BODY ?? '{}');
const headers = {
  'content-type': 'application/json; charset=utf-8',
  'content-length': String(body.length),
};

const server = http.createServer((req, res) => {
  // The body has to be consumed (a real API reads it, and keep-alive needs it drained), but it
  // is not parsed: parsing is part of the work we want the gap to show.
  req.on('data', () => undefined);
  req.on('end', () => {
    res.writeHead(200, headers);
    res.end(body);
  });
});

server.listen(port, '127.0.0.1');

const stop = () => {
  server.close(() => process.exit(0));
  // Keep-alive connections from the load generator would hold close() open.
  server.closeAllConnections();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
