// The HTTP API on Node's own http module: sign-up, login, the session check (/me), logout, a ready probe.
import { throttled } from './log.js';

const MAX_BODY_BYTES = 16 * 1024;
const SESSION_COOKIE = 'sid';

class HttpError extends Error {
  constructor(status, code, message, headers = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.headers = headers;
  }
}

const sessionNotFound = () => new HttpError(401, 'SESSION_NOT_FOUND', 'Session expired. Please try again.');
const storeUnavailable = () =>
  new HttpError(503, 'SESSION_STORE_UNAVAILABLE', 'Session service temporarily unavailable', { 'Retry-After': '1' });

export function createApp({ users, sessions, sessionTtlS }) {
  const logNotFound = throttled();
  const logStoreError = throttled();

  async function signUp(req) {
    const { username, password } = await readCredentials(req);
    let created;
    try {
      created = await users.signUp(username, password);
    } catch (err) {
      if (err instanceof TypeError) throw new HttpError(400, 'BAD_REQUEST', err.message);
      throw err;
    }
    if (!created) throw new HttpError(409, 'USERNAME_TAKEN', `username ${username} is taken`);
    return { status: 201, body: { username } };
  }

  async function login(req) {
    const { username, password } = await readCredentials(req);
    if (!(await users.verify(username, password))) {
      throw new HttpError(401, 'INVALID_CREDENTIALS', 'Wrong username or password');
    }
    const sessionId = await store(() => sessions.createSession(username));
    const cookie = `${SESSION_COOKIE}=${sessionId}; Path=/; HttpOnly; SameSite=Lax; Max-Age=${sessionTtlS}`;
    return { status: 200, body: { session_id: sessionId, username }, headers: { 'Set-Cookie': cookie } };
  }

  async function me(req) {
    const sessionId = sessionIdOf(req);
    const session = sessionId ? await store(() => sessions.getSession(sessionId)) : null;
    if (!session) {
      // The incident's log line: the client holds an id that Redis does not (yet) know.
      logNotFound(`Session validation failed: Session not found in cache (session ${sessionId ?? 'none'})`);
      throw sessionNotFound();
    }
    return { status: 200, body: { username: session.user, created_at: session.createdAt } };
  }

  async function logout(req) {
    const sessionId = sessionIdOf(req);
    if (sessionId) await store(() => sessions.deleteSession(sessionId));
    return { status: 204, headers: { 'Set-Cookie': `${SESSION_COOKIE}=; Path=/; HttpOnly; Max-Age=0` } };
  }

  async function store(operation) {
    try {
      return await operation();
    } catch (err) {
      logStoreError(`session store error: ${err.message}`);
      throw storeUnavailable();
    }
  }

  const routes = {
    'POST /signup': signUp,
    'POST /login': login,
    'GET /me': me,
    'POST /logout': logout,
    'GET /healthz': async () => ({ status: 200, body: { status: 'ok' } }),
  };

  return async function handle(req, res) {
    const path = new URL(req.url, 'http://service').pathname;
    const route = routes[`${req.method} ${path}`];
    try {
      if (!route) throw notRouted(routes, req.method, path);
      send(res, await route(req));
    } catch (err) {
      send(res, errorResponse(err));
    }
  };
}

function notRouted(routes, method, path) {
  const methods = Object.keys(routes).filter((r) => r.endsWith(` ${path}`)).map((r) => r.split(' ')[0]);
  if (methods.length === 0) return new HttpError(404, 'NOT_FOUND', `no route ${path}`);
  return new HttpError(405, 'METHOD_NOT_ALLOWED', `${method} ${path}: allowed ${methods.join(', ')}`,
    { Allow: methods.join(', ') });
}

function errorResponse(err) {
  if (err instanceof HttpError) {
    return { status: err.status, body: { code: err.code, message: err.message }, headers: err.headers };
  }
  process.stderr.write(`unexpected error: ${err.stack}\n`);
  return { status: 500, body: { code: 'INTERNAL', message: 'Internal server error' } };
}

function send(res, { status, body, headers = {} }) {
  if (res.headersSent) return;
  if (body === undefined) {
    res.writeHead(status, headers).end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function sessionIdOf(req) {
  const header = req.headers['x-session-id'];
  if (header) return header;
  const bearer = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '');
  if (bearer) return bearer[1];
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name === SESSION_COOKIE && value.length) return value.join('=');
  }
  return null;
}

async function readCredentials(req) {
  const fields = await readBody(req);
  const { username, password } = fields;
  if (typeof username !== 'string' || typeof password !== 'string') {
    throw new HttpError(400, 'BAD_REQUEST', 'body must have string fields username and password');
  }
  return { username, password };
}

// JSON or an HTML form, at most MAX_BODY_BYTES.
async function readBody(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, 'BODY_TOO_LARGE', `body over ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (type === 'application/x-www-form-urlencoded') return Object.fromEntries(new URLSearchParams(text));
  if (type !== 'application/json' && type !== '') {
    throw new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', `${type}: send application/json or a form`);
  }
  try {
    const parsed = JSON.parse(text);
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed;
  } catch {
    // answered below, with the same line as a JSON value that is not an object
  }
  throw new HttpError(400, 'BAD_REQUEST', 'body is not a JSON object');
}
