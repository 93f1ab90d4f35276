/**
 * The noisy tenant of `npm run bench`'s noisy-neighbour section, in a process of its own so that
 * its client work is not charged to the platform: `GET /cases?limit=20` at a fixed rate (open
 * loop: a slow answer never slows the sender), until told to stop on stdin. Prints the count of
 * answers by status as one JSON line on exit.
 *
 *   tsx bench/noisy-neighbour-load.ts <router url> <token> <requests per second>
 */
const [url, token, rateText] = process.argv.slice(2);
const rate = Number(rateText);
if (!url || !token || !(rate > 0)) throw new Error('usage: noisy-neighbour-load.ts <router url> <token> <requests per second>');

const statuses: Record<string, number> = {};
let inFlight = 0;
let stopping = false;
const target = new URL('/cases?limit=20', url);

function fire(): void {
  inFlight += 1;
  fetch(target, { headers: { authorization: `Bearer ${token}` } })
    .then(async (response) => {
      await response.arrayBuffer();
      statuses[response.status] = (statuses[response.status] ?? 0) + 1;
    })
    .catch(() => {
      statuses.error = (statuses.error ?? 0) + 1;
    })
    .finally(() => {
      inFlight -= 1;
      if (stopping && inFlight === 0) finish();
    });
}

function finish(): void {
  process.stdout.write(`${JSON.stringify(statuses)}\n`);
  process.exit(0);
}

const started = performance.now();
let sent = 0;
const timer = setInterval(() => {
  // Catch up to the schedule: as many requests as the elapsed time calls for.
  const due = Math.floor(((performance.now() - started) / 1000) * rate);
  while (sent < due) {
    sent += 1;
    fire();
  }
}, 5);

process.stdout.write('ready\n');
// Stops when told to, or when the bench that started it is gone (its end of stdin closes).
const parent = process.ppid;
setInterval(() => process.ppid !== parent && process.exit(1), 1000).unref();
process.stdin.on('end', () => stopping || process.exit(1));
process.stdin.on('data', () => {
  clearInterval(timer);
  stopping = true;
  if (inFlight === 0) finish();
  // A request still unanswered after this long is counted as such.
  setTimeout(() => {
    statuses.unanswered = inFlight;
    finish();
  }, 10_000).unref();
});
