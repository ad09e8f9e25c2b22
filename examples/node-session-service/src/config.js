// Settings, resolved once at the entry point from command-line flags, then the environment, then defaults.
import { parseArgs } from 'node:util';

export class ConfigError extends Error {}

// flag -> [environment variable, default, parser]
const SETTINGS = {
  host: ['HOST', '127.0.0.1', text],
  port: ['PORT', '3000', integer(0, 65535)],
  'redis-url': ['REDIS_URL', 'redis://127.0.0.1:6379/0', redisUrl],
  'await-session-write': ['AWAIT_SESSION_WRITE', '0', boolean],
  'redis-timeout-ms': ['REDIS_TIMEOUT_MS', '100', integer(1, 600000)],
  'redis-pool-size': ['REDIS_POOL_SIZE', '50', integer(1, 10000)],
  'seed-users': ['SEED_USERS', '100', integer(0, 100000)],
  'password-cost': ['PASSWORD_COST', '256', powerOfTwo],
  'session-ttl-s': ['SESSION_TTL_S', '604800', integer(1, 31536000)],
};

export function loadConfig(argv = process.argv.slice(2), env = process.env) {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: Object.fromEntries(Object.keys(SETTINGS).map((flag) => [flag, { type: 'string' }])),
      strict: true,
    }));
  } catch (err) {
    throw new ConfigError(`${err.message}; allowed: ${Object.keys(SETTINGS).map((f) => `--${f}`).join(' ')}`);
  }
  const config = {};
  for (const [flag, [envName, fallback, parse]] of Object.entries(SETTINGS)) {
    const raw = values[flag] ?? env[envName] ?? fallback;
    config[camel(flag)] = parse(raw, `--${flag} / ${envName}`);
  }
  return config;
}

function camel(flag) {
  return flag.replace(/-([a-z])/g, (_, c) => c.toUpperCase());
}

function text(raw) {
  return raw;
}

function integer(min, max) {
  return (raw, name) => {
    const value = Number(raw);
    if (!/^\d+$/.test(raw) || value < min || value > max) {
      throw new ConfigError(`${name}: ${JSON.stringify(raw)} is not an integer from ${min} to ${max}`);
    }
    return value;
  };
}

function powerOfTwo(raw, name) {
  const value = integer(2, 1 << 20)(raw, name);
  if ((value & (value - 1)) !== 0) throw new ConfigError(`${name}: ${value} is not a power of two (scrypt's N)`);
  return value;
}

function boolean(raw, name) {
  const value = raw.toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(value)) return true;
  if (['0', 'false', 'no', 'off', ''].includes(value)) return false;
  throw new ConfigError(`${name}: ${JSON.stringify(raw)} is not a boolean (1/0, true/false, yes/no, on/off)`);
}

function redisUrl(raw, name) {
  let url;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`${name}: ${JSON.stringify(raw)} is not a URL; expected redis://HOST:PORT/DB`);
  }
  if (url.protocol !== 'redis:') throw new ConfigError(`${name}: ${JSON.stringify(raw)} is not a redis:// URL`);
  return raw;
}
