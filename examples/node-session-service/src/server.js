#!/usr/bin/env node
// Entry point: settings, Redis pool, seeded users, the HTTP server; a clean exit on SIGTERM or SIGINT.
import http from 'node:http';

import { createApp } from './app.js';
import { ConfigError, loadConfig } from './config.js';
import { log, throttled } from './log.js';
import { createSessionPool, withTimeout } from './redis.js';
import { SessionStore } from './sessions.js';
import { UserTable } from './users.js';

const START_TIMEOUT_MS = 15000;
// In-flight requests and fire-and-forget writes get this long to finish after SIGTERM.
const DRAIN_TIMEOUT_MS = 2000;

async function main() {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`node-session-service: ${err.message}\n`);
    process.exit(2);
  }

  const redis = createSessionPool({
    redisUrl: config.redisUrl, poolSize: config.redisPoolSize, timeoutMs: config.redisTimeoutMs,
  });
  const logRedisError = throttled();
  redis.on('error', (err) => logRedisError(`redis connection error: ${err.message}`));
  const users = new UserTable(config.passwordCost);
  try {
    await withTimeout(Promise.all([redis.connect(), users.seed(config.seedUsers)]), START_TIMEOUT_MS,
      `connecting to ${config.redisUrl} and seeding ${config.seedUsers} users`);
  } catch (err) {
    process.stderr.write(`node-session-service: cannot start: ${err.message}\n`);
    redis.destroy();
    process.exit(3);
  }

  const sessions = new SessionStore({
    redis, awaitWrite: config.awaitSessionWrite, timeoutMs: config.redisTimeoutMs, ttlS: config.sessionTtlS,
  });
  const server = http.createServer(createApp({ users, sessions, sessionTtlS: config.sessionTtlS }));
  server.keepAliveTimeout = 65000; // longer than a load generator's idle keep-alive, so no request meets a closing socket
  server.on('error', (err) => {
    process.stderr.write(`node-session-service: cannot listen on ${config.host}:${config.port}: ${err.message}\n`);
    process.exit(3);
  });
  server.listen(config.port, config.host, () => {
    const { port } = server.address();
    log(`listening on http://${config.host}:${port} (redis ${config.redisUrl}, await_session_write=` +
      `${config.awaitSessionWrite}, redis_timeout_ms=${config.redisTimeoutMs}, users=${config.seedUsers})`);
  });

  const stop = once(async (signal) => {
    log(`${signal}: stopping`);
    const deadline = setTimeout(() => {
      log(`not drained within ${DRAIN_TIMEOUT_MS} ms; exiting anyway`);
      process.exit(0);
    }, DRAIN_TIMEOUT_MS);
    deadline.unref();
    server.close();
    server.closeIdleConnections();
    await sessions.drain();
    await redis.close();
    log('stopped');
    process.exit(0);
  });
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

function once(fn) {
  let called = false;
  return (...args) => {
    if (called) return;
    called = true;
    fn(...args).catch((err) => {
      process.stderr.write(`node-session-service: error while stopping: ${err.stack}\n`);
      process.exit(1);
    });
  };
}

main();
