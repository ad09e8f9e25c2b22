// Drives a Toxiproxy API with toxiproxy-node-client as a user would, and prints what it saw as JSON.
// Usage: node drive.mjs API_URL UPSTREAM_HOST:PORT
import { Toxiproxy, ToxiproxyError } from "toxiproxy-node-client";

const [apiUrl, upstream] = process.argv.slice(2);
const toxiproxy = new Toxiproxy(apiUrl);
const seen = {};

const proxy = await toxiproxy.createProxy({ name: "node", listen: "127.0.0.1:0", upstream });
seen.created = proxy.toJson();
const toxic = await proxy.addToxic({ type: "latency", name: "lag", stream: "upstream", toxicity: 1,
                                     attributes: { latency: 150, jitter: 0 } });
seen.toxic = toxic.toJson();
seen.updatedToxic = (await toxic.update({ attributes: { latency: 200, jitter: 0 }, toxicity: 1 })).toJson();
seen.fetchedToxic = (await proxy.getToxic("lag")).toJson();
seen.version = await toxiproxy.getVersion();
seen.all = Object.keys(await toxiproxy.getAll());
try {
  await toxiproxy.createProxy({ name: "node", listen: "127.0.0.1:0", upstream });
  seen.duplicate = "accepted";
} catch (error) {
  seen.duplicate = error instanceof ToxiproxyError ? error.message : String(error);
}
seen.disabled = (await proxy.update({ enabled: false, listen: proxy.listen, upstream })).toJson().enabled;
seen.enabled = (await proxy.update({ enabled: true, listen: proxy.listen, upstream })).toJson().enabled;
const populated = await toxiproxy.populate([{ name: "pop", listen: "127.0.0.1:0", upstream }]);
seen.populated = Object.keys(populated);
await toxic.remove();
seen.afterRemove = await fetch(`${apiUrl}/proxies/node/toxics`).then((response) => response.json());
await toxiproxy.reset();
await (await toxiproxy.get("pop")).remove();
seen.final = Object.keys(await toxiproxy.getAll());
seen.listen = proxy.listen;
console.log(JSON.stringify(seen));
