// Users who can log in: user0..user{N-1} with password pass-user{K}, seeded at start, plus sign-ups.
// Kept in memory: the user database is not what this incident is about; sessions are, and they live in Redis.
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';

const scryptAsync = promisify(scrypt);
const KEY_BYTES = 32;
const NAME = /^[A-Za-z0-9_.@-]{1,64}$/;

export class UserTable {
  #hashes = new Map();
  #decoy;

  // cost is scrypt's N. Hashing runs on libuv's thread pool, off the event loop.
  constructor(cost) {
    this.cost = cost;
  }

  async seed(count) {
    this.#decoy = await this.#hash('decoy-password');
    const names = Array.from({ length: count }, (_, i) => `user${i}`);
    await Promise.all(names.map(async (name) => this.#hashes.set(name, await this.#hash(`pass-${name}`))));
  }

  // false when the name is taken; throws a TypeError naming what is wrong with bad input.
  async signUp(username, password) {
    if (typeof username !== 'string' || !NAME.test(username)) {
      throw new TypeError('username must be 1 to 64 characters of letters, digits and _ . @ -');
    }
    if (typeof password !== 'string' || password.length < 1 || password.length > 256) {
      throw new TypeError('password must be a string of 1 to 256 characters');
    }
    if (this.#hashes.has(username)) return false;
    const hashed = await this.#hash(password);
    if (this.#hashes.has(username)) return false; // another sign-up took the name while this one hashed
    this.#hashes.set(username, hashed);
    return true;
  }

  async verify(username, password) {
    if (typeof username !== 'string' || typeof password !== 'string') return false;
    const stored = this.#hashes.get(username);
    // An unknown name costs a hash too, so timing does not tell which names exist.
    const { salt, hash } = stored ?? this.#decoy;
    const candidate = await scryptAsync(password, salt, KEY_BYTES, { N: this.cost });
    return stored !== undefined && timingSafeEqual(candidate, hash);
  }

  async #hash(password) {
    const salt = randomBytes(16);
    return { salt, hash: await scryptAsync(password, salt, KEY_BYTES, { N: this.cost }) };
  }
}
