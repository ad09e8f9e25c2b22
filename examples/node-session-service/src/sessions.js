// Sessions in Redis. createSession() is the first incident's code shape (auth/SessionManager.ts).
import { randomBytes } from 'node:crypto';

import { throttled } from './log.js';
import { withTimeout } from './redis.js';

export class SessionStore {
  #pending = new Set();
  #logLostWrite = throttled();

  constructor({ redis, awaitWrite, timeoutMs, ttlS }) {
    this.redis = redis;
    this.awaitWrite = awaitWrite;
    this.timeoutMs = timeoutMs;
    this.ttlS = ttlS;
  }

  async createSession(user) {
    const sessionId = randomBytes(24).toString('base64url');
    const record = JSON.stringify({ user, createdAt: Date.now() });
    const write = this.#call('SET session', this.redis.set(key(sessionId), record, { EX: this.ttlS }));
    if (this.awaitWrite) {
      await write;
    } else {
      // The bug, kept as shipped: fire-and-forget, so the id goes back before Redis has the session.
      this.#track(write);
    }
    return sessionId;
  }

  async getSession(sessionId) {
    const record = await this.#call('GET session', this.redis.get(key(sessionId)));
    return record === null ? null : JSON.parse(record);
  }

  async deleteSession(sessionId) {
    await this.#call('DEL session', this.redis.del(key(sessionId)));
  }

  // Writes still in flight, so a clean shutdown can let them land before closing the pool.
  async drain() {
    await Promise.allSettled([...this.#pending]);
  }

  #call(what, command) {
    return withTimeout(command, this.timeoutMs, what);
  }

  #track(write) {
    const settled = write.catch((err) => {
      this.#logLostWrite(`session write failed after the login reply was sent: ${err.message}`);
    });
    this.#pending.add(settled);
    settled.finally(() => this.#pending.delete(settled));
  }
}

function key(sessionId) {
  return `session:${sessionId}`;
}
