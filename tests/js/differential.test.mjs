// Differential bad-input test: every case of cases.mjs is sent over a raw
// TCP connection to nats-server 2.9.10 (the reference) and to ternd; the
// bytes each one answers after INFO, and whether it closed the connection,
// must be identical. The reference must also still answer what the case
// records, so a case cannot silently stop testing what its name says.
//
// Env: TERND (ternd binary, required), NATS_SERVER (default nats-server).
// TERN_REFERENCE_ONLY=1 checks the cases against nats-server alone.
import { describe, test, after } from "node:test";
import assert from "node:assert/strict";
import { startServer } from "./lib/server.mjs";
import { runCase } from "./lib/rawcase.mjs";
import { cases, OPTION_SETS } from "./cases.mjs";

const referenceOnly = process.env.TERN_REFERENCE_ONLY === "1";
const kinds = referenceOnly ? ["nats-server"] : ["nats-server", "ternd"];

// Cases run in LANES parallel lanes so that a server which times out on
// many cases still finishes the suite in bounded time. Subjects are shared
// inside one server, so each lane has its own servers: one per (kind,
// option set), started on first use.
const LANES = 6;
const servers = new Map();
async function serverFor(kind, optionSet, lane) {
  const key = `${kind}/${optionSet}/${lane}`;
  if (servers.has(key)) {
    const server = await servers.get(key);
    if (server.running) return server;
    await server.stop(); // died in an earlier case, which reported it
  }
  const starting = startServer(kind, OPTION_SETS[optionSet]);
  servers.set(key, starting);
  return starting;
}

const freeLanes = Array.from({ length: LANES }, (_, i) => i);
const laneWaiters = [];
async function withLane(fn) {
  const lane = freeLanes.length ? freeLanes.pop() : await new Promise((r) => laneWaiters.push(r));
  try {
    return await fn(lane);
  } finally {
    if (laneWaiters.length) laneWaiters.shift()(lane); else freeLanes.push(lane);
  }
}

const show = (r) => `closed=${r.closed}${r.timedOut ? " (timed out)" : ""} out=${JSON.stringify(r.out)}`;

describe(`differential bad input: ${kinds.join(" vs ")}`, { concurrency: LANES }, () => {
  after(async () => {
    const all = await Promise.allSettled(servers.values());
    await Promise.all(all.filter((s) => s.status === "fulfilled").map((s) => s.value.stop()));
  });

  for (const kase of cases) {
    test(kase.name, { timeout: 15000 }, async () => {
      const optionSet = kase.opts || "default";
      const results = await withLane((lane) => Promise.all(kinds.map(async (kind) => {
        const server = await serverFor(kind, optionSet, lane);
        const result = await runCase(server.port, kase);
        // A closed connection may mean a crashed server: that is this case's
        // failure, whatever the bytes were.
        if (result.closed && !(await server.checkAlive())) result.crash = server.describeExit();
        return result;
      })));
      const [ref, tern] = results;
      for (const r of results) assert.ok(!r.crash, r.crash);
      assert.ok(ref.info, "nats-server sent no INFO line");
      assert.ok(!ref.timedOut, `nats-server did not finish the case: ${show(ref)}`);
      assert.deepEqual({ closed: ref.closed, out: ref.out }, { closed: kase.closed, out: kase.out },
        `nats-server no longer answers as the case records: ${show(ref)}`);
      if (!tern) return;
      assert.ok(tern.info, "ternd sent no INFO line");
      assert.deepEqual({ closed: tern.closed, out: tern.out }, { closed: ref.closed, out: ref.out },
        `ternd differs from nats-server\n  nats-server: ${show(ref)}\n  ternd:       ${show(tern)}`);
    });
  }
});
