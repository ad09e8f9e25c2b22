// One line per event on stderr; events that can come by the thousand under a fault are said once a second.
export function log(message) {
  process.stderr.write(`${new Date().toISOString()} ${message}\n`);
}

export function throttled(intervalMs = 1000) {
  let last = -Infinity;
  let since = 0;
  return (message) => {
    const now = performance.now();
    if (now - last < intervalMs) {
      since += 1;
      return;
    }
    log(since ? `${message} (and ${since} more like it since the last line)` : message);
    last = now;
    since = 0;
  };
}
