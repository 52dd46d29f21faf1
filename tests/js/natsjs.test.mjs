// A scenario with the real nats.js client (npm "nats" v2) against ternd:
// wildcard pub/sub, queue groups, request/reply, headers, no responders,
// drain and close. TERN_TEST_SERVER=nats-server runs the same scenario
// against nats-server, to check the test itself.
//
// Env: TERND (ternd binary), NATS_SERVER (default nats-server).
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { connect, StringCodec, headers, ErrorCode } from "nats";
import { startServer } from "./lib/server.mjs";

const kind = process.env.TERN_TEST_SERVER === "nats-server" ? "nats-server" : "ternd";
const sc = StringCodec();
const TIMEOUT = { timeout: 10000 };

// Resolves once `n` values have been pushed, rejects after `ms`.
function collector(n, ms = 5000) {
  const items = [];
  let done;
  const complete = new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`got ${items.length} of ${n} messages`)), ms);
    done = () => { clearTimeout(t); resolve(items); };
  });
  return {
    items,
    complete,
    push(v) {
      items.push(v);
      if (items.length === n) done();
    },
  };
}

describe(`nats.js against ${kind}`, () => {
  let server;
  const conns = [];
  const open = async (opts = {}) => {
    const nc = await connect({ servers: server.url, reconnect: false, timeout: 5000, ...opts });
    conns.push(nc);
    return nc;
  };

  before(async () => {
    server = await startServer(kind);
  });

  after(async () => {
    await Promise.allSettled(conns.filter((nc) => !nc.isClosed()).map((nc) => nc.close()));
    if (server) await server.stop();
  });

  test("INFO is accepted by the client", TIMEOUT, async () => {
    const nc = await open({ name: "info-check" });
    const info = nc.info;
    assert.equal(info.proto, 1);
    assert.equal(info.headers, true);
    assert.match(info.version, /^\d+\.\d+\.\d+$/);
    assert.match(info.server_id, /^N[A-Z2-7]{55}$/);
    assert.ok(info.max_payload > 0);
    await nc.close();
  });

  test("pub/sub with * and > wildcards across connections", TIMEOUT, async () => {
    const sub = await open();
    const pub = await open();
    const star = collector(2);
    const full = collector(3);
    const exact = collector(1);
    sub.subscribe("w.*.x", { callback: (err, m) => { assert.ifError(err); star.push(m.subject); } });
    sub.subscribe("w.>", { callback: (err, m) => { assert.ifError(err); full.push(m.subject); } });
    sub.subscribe("w.a.x", { callback: (err, m) => { assert.ifError(err); exact.push(sc.decode(m.data)); } });
    await sub.flush(); // the subscriptions are registered once the PONG is back
    pub.publish("w.a.x", sc.encode("one"));
    pub.publish("w.b.x", sc.encode("two"));
    pub.publish("w.b.y.z", sc.encode("three"));
    pub.publish("w", sc.encode("none")); // matched by neither w.> nor w.*.x
    await pub.flush();
    assert.deepEqual(await star.complete, ["w.a.x", "w.b.x"]);
    assert.deepEqual(await full.complete, ["w.a.x", "w.b.x", "w.b.y.z"]);
    assert.deepEqual(await exact.complete, ["one"]);
    // A round trip on `sub` after everything arrived: nothing else came.
    await sub.flush();
    assert.equal(star.items.length, 2);
    assert.equal(full.items.length, 3);
    assert.equal(exact.items.length, 1);
  });

  test("queue group: each message to exactly one member", TIMEOUT, async () => {
    const N = 60;
    const members = await Promise.all([open(), open(), open()]);
    const plain = await open();
    const pub = await open();
    const seen = new Map(); // payload -> number of queue deliveries
    const perMember = [0, 0, 0];
    const all = collector(N);
    const everyone = collector(N);
    members.forEach((nc, i) => {
      nc.subscribe("work.items", {
        queue: "workers",
        callback: (err, m) => {
          assert.ifError(err);
          const k = sc.decode(m.data);
          seen.set(k, (seen.get(k) || 0) + 1);
          perMember[i]++;
          all.push(k);
        },
      });
    });
    plain.subscribe("work.items", { callback: (err, m) => { assert.ifError(err); everyone.push(sc.decode(m.data)); } });
    await Promise.all([...members, plain].map((nc) => nc.flush()));
    for (let i = 0; i < N; i++) pub.publish("work.items", sc.encode(`m${i}`));
    await pub.flush();
    await all.complete;
    await everyone.complete;
    // Round trips on every member: no late duplicate is still in flight.
    await Promise.all(members.map((nc) => nc.flush()));
    assert.equal(seen.size, N);
    for (const [k, count] of seen) assert.equal(count, 1, `${k} delivered ${count} times`);
    assert.equal(perMember.reduce((a, b) => a + b, 0), N);
    assert.equal(new Set(everyone.items).size, N, "the plain subscriber gets every message");
  });

  test("request/reply", TIMEOUT, async () => {
    const svc = await open();
    const cli = await open();
    svc.subscribe("svc.echo", {
      callback: (err, m) => {
        assert.ifError(err);
        m.respond(sc.encode(`echo:${sc.decode(m.data)}`));
      },
    });
    await svc.flush();
    for (let i = 0; i < 5; i++) {
      const r = await cli.request("svc.echo", sc.encode(`hi${i}`), { timeout: 3000 });
      assert.equal(sc.decode(r.data), `echo:hi${i}`);
    }
    // Old-style request with its own inbox subscription per request.
    const r = await cli.request("svc.echo", sc.encode("x"), { timeout: 3000, noMux: true });
    assert.equal(sc.decode(r.data), "echo:x");
  });

  test("headers round trip", TIMEOUT, async () => {
    const svc = await open();
    const cli = await open();
    svc.subscribe("svc.hdr", {
      callback: (err, m) => {
        assert.ifError(err);
        const h = headers();
        h.set("Reply-Of", m.headers.get("Trace-Id"));
        h.append("Multi", "a");
        h.append("Multi", "b");
        m.respond(sc.encode(`${m.headers.values("X-Many").join(",")}|${sc.decode(m.data)}`), { headers: h });
      },
    });
    const got = collector(1);
    svc.subscribe("hdr.pub", { callback: (err, m) => { assert.ifError(err); got.push(m); } });
    await svc.flush();

    const h = headers();
    h.set("Trace-Id", "t-123");
    h.append("X-Many", "1");
    h.append("X-Many", "2");
    const r = await cli.request("svc.hdr", sc.encode("body"), { timeout: 3000, headers: h });
    assert.equal(sc.decode(r.data), "1,2|body");
    assert.ok(r.headers, "response has headers");
    assert.equal(r.headers.get("Reply-Of"), "t-123");
    assert.deepEqual(r.headers.values("Multi"), ["a", "b"]);

    // Headers with an empty payload, published without a reply.
    const h2 = headers();
    h2.set("Only", "headers");
    cli.publish("hdr.pub", sc.encode(""), { headers: h2 });
    const [m] = await got.complete;
    assert.equal(m.headers.get("Only"), "headers");
    assert.equal(m.data.length, 0);
  });

  test("request without responders fails with no responders", TIMEOUT, async () => {
    const cli = await open();
    await assert.rejects(
      cli.request("nobody.home", sc.encode("?"), { timeout: 3000 }),
      (err) => err.code === ErrorCode.NoResponders,
    );
    await assert.rejects(
      cli.request("nobody.home", sc.encode("?"), { timeout: 3000, noMux: true }),
      (err) => err.code === ErrorCode.NoResponders,
    );
  });

  test("drain delivers what was published, then closes", TIMEOUT, async () => {
    const sub = await open();
    const pub = await open();
    const N = 200;
    let count = 0;
    const s = sub.subscribe("drain.me", { callback: (err) => { assert.ifError(err); count++; } });
    await sub.flush();
    for (let i = 0; i < N; i++) pub.publish("drain.me", sc.encode(String(i)));
    await pub.flush(); // the server has routed all N before the PONG
    await sub.drain();
    assert.equal(count, N);
    assert.ok(s.isClosed());
    assert.ok(sub.isClosed());
    assert.equal(await sub.closed(), undefined, "closed without error");

    await pub.close();
    assert.equal(await pub.closed(), undefined);
  });
});
