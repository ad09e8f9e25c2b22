// The Redis side: node-redis's client pool, and a timeout that really covers a command's reply.
import { createClientPool } from 'redis';

export class RedisTimeout extends Error {
  constructor(what, ms) {
    super(`${what} got no reply from Redis within ${ms} ms`);
    this.name = 'RedisTimeout';
  }
}

// A pool, not one multiplexed client: a command that waits on a slow Redis holds up only its own
// connection, and concurrent requests (a login's SET, the /me GET that follows) travel on different ones.
export function createSessionPool({ redisUrl, poolSize, timeoutMs }) {
  return createClientPool(
    {
      url: redisUrl,
      RESP: 2,
      // No CLIENT SETINFO on connect: one round trip less through an injected latency per new connection.
      disableClientInfo: true,
      socket: {
        connectTimeout: Math.max(timeoutMs, 1000),
        reconnectStrategy: (retries) => Math.min(50 * 2 ** retries, 1000),
      },
    },
    { minimum: Math.min(poolSize, 10), maximum: poolSize, acquireTimeout: Math.max(timeoutMs, 1000) },
  );
}

// node-redis's own per-command `timeout` stops counting once the command is written to the socket, so it
// never fires on a slow reply: race the whole call (waiting for a pooled connection included) against a timer.
export function withTimeout(promise, ms, what) {
  let timer;
  const expired = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new RedisTimeout(what, ms)), ms);
  });
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}
