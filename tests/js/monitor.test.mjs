// The monitor module (modules/monitor) over real HTTP: JSON key sets of
// every endpoint against nats-server 2.9.10 -m, connz paging and sorting
// with nats.js connections, /metrics through `promtool check metrics`, the
// dashboard in headless Chromium (playwright-core) while a publisher runs,
// endpoints under concurrent load, malformed requests answered as
// nats-server answers them, -m on the command line (also after a reload),
// base_path, HTTPS.
//
// Env: TERND (ternd; monitor.so is found in modules/ next to it),
// NATS_SERVER, PROMTOOL (default promtool), CHROMIUM (default
// /usr/bin/chromium).
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import net from "node:net";
import http from "node:http";
import https from "node:https";
import { spawn, execFileSync, spawnSync } from "node:child_process";
import { connect, StringCodec } from "nats";
import { chromium } from "playwright-core";
import { startServer, freePort, terndPath } from "./lib/server.mjs";

const sc = StringCodec();
const PROMTOOL = process.env.PROMTOOL || "promtool";
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const MONITOR_YAML = "modules:\n  monitor:\n    listen: 127.0.0.1:0\n";
const delay = (ms) => new Promise((r) => setTimeout(r, ms));

// Poll fn until it returns a truthy value (bounded).
async function waitFor(fn, what, ms = 10000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(20);
  }
}

// The monitor's port from the log line both servers print.
async function monitorPort(server, scheme = "http") {
  const re = new RegExp(`Starting ${scheme} monitor on [^\\s]*:(\\d+)`);
  const m = await waitFor(() => re.exec(server.output), `${server.kind}'s ${scheme} monitor log line`);
  return Number(m[1]);
}

function get(port, p, { agent = false, method = "GET" } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, path: p, method, agent }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode, headers: res.headers,
        body: Buffer.concat(chunks).toString("utf8") }));
    });
    req.on("error", reject);
    req.setTimeout(10000, () => req.destroy(new Error(`GET ${p}: timeout`)));
    req.end();
  });
}

async function getJSON(port, p) {
  const r = await get(port, p);
  assert.equal(r.status, 200, `GET ${p}: ${r.status} ${r.body}`);
  return JSON.parse(r.body);
}

// Send raw bytes, read until the peer closes (or ms pass).
function raw(port, bytes, ms = 3000) {
  return new Promise((resolve) => {
    const chunks = [];
    const sock = net.connect({ host: "127.0.0.1", port }, () => sock.end(bytes));
    const done = () => { clearTimeout(t); sock.destroy(); resolve(Buffer.concat(chunks).toString("latin1")); };
    const t = setTimeout(done, ms);
    sock.on("data", (c) => chunks.push(c));
    sock.on("close", done);
    sock.on("error", done);
  });
}

// Every key path of a JSON value; arrays contribute their elements' paths.
// Maps keyed by data (request stats, gateway names) count as leaves.
const DATA_KEYED = new Set(["http_req_stats", "outbound_gateways", "inbound_gateways", "mappings", "responses"]);
function keyPaths(v, prefix = "", out = new Set()) {
  if (Array.isArray(v)) {
    for (const e of v) keyPaths(e, prefix + "[]", out);
  } else if (v && typeof v === "object") {
    for (const [k, e] of Object.entries(v)) {
      const p = prefix ? `${prefix}.${k}` : k;
      out.add(p);
      if (!DATA_KEYED.has(k)) keyPaths(e, p, out);
    }
  }
  return out;
}

function diffKeys(what, tern, nats, allowed = []) {
  const t = keyPaths(tern), n = keyPaths(nats);
  const onlyT = [...t].filter((k) => !n.has(k) && !allowed.includes(k));
  const onlyN = [...n].filter((k) => !t.has(k) && !allowed.includes(k));
  assert.deepEqual({ what, onlyTern: onlyT, onlyNats: onlyN }, { what, onlyTern: [], onlyNats: [] });
}

// ---- key sets ------------------------------------------------------------

describe("monitor: JSON key sets match nats-server 2.9.10", () => {
  let tern, nats, tport, nport;
  const conns = [];
  before(async () => {
    tern = await startServer("ternd", {}, { ternd: MONITOR_YAML });
    nats = await startServer("nats-server", {}, { "nats-server": "http_port: -1\n" });
    [tport, nport] = [await monitorPort(tern), await monitorPort(nats)];
    // the same client on both: named, with a subscription
    for (const s of [tern, nats]) {
      const nc = await connect({ servers: s.url, name: "keys", reconnect: false });
      nc.subscribe("keys.>");
      await nc.flush();
      conns.push(nc);
    }
  });
  after(async () => {
    for (const nc of conns) await nc.close();
    await tern?.stop();
    await nats?.stop();
  });

  const cases = [
    ["/varz"], ["/connz"], ["/connz?subs=1&auth=1"], ["/connz?subs=detail"], ["/routez"],
    ["/routez?subs=1"], ["/gatewayz"], ["/gatewayz?accs=1"], ["/leafz"], ["/subsz"],
    ["/subsz?subs=1"], ["/subscriptionsz?subs=1&test=keys.a"], ["/accountz"],
    // nats-server's $G imports the system services: Tern's does not (docs/monitoring.md)
    ["/accountz?acc=$G", ["account_detail.imports", "account_detail.imports[].subject",
      "account_detail.imports[].account", "account_detail.imports[].to", "account_detail.imports[].type",
      "account_detail.imports[].invalid", "account_detail.imports[].share", "account_detail.imports[].tracking",
      "account_detail.imports[].tracking_header"]],
    ["/accstatz"], ["/accstatz?unused=1"], ["/healthz"],
  ];
  for (const [p, allowed] of cases) {
    test(p, async () => {
      const [t, n] = [await getJSON(tport, p), await getJSON(nport, p)];
      diffKeys(p, t, n, allowed);
    });
  }

  test("headers, JSONP, errors and 404 as nats-server", async () => {
    for (const p of ["/varz", "/varz?callback=cb", "/connz?sort=nope", "/connz?limit=x",
      "/subsz?test=a.*", "/accountz?acc=nope", "/nope", "/varz/", "/healthz?js-enabled-only=x"]) {
      const [t, n] = [await get(tport, p), await get(nport, p)];
      assert.equal(t.status, n.status, p);
      assert.equal(t.headers["content-type"], n.headers["content-type"], p);
      assert.equal(t.headers["x-content-type-options"], n.headers["x-content-type-options"], p);
      if (t.status !== 200) assert.equal(t.body, n.body, p);
    }
    const t = await get(tport, "/varz?callback=cb");
    assert.match(t.body, /^cb\(\{\n {2}"server_id": /);
    assert.match(t.body, /\}\)$/);
    // pretty (2 spaces) everywhere but healthz, as nats-server
    assert.equal((await get(tport, "/healthz")).body, '{"status":"ok"}');
    assert.match((await get(tport, "/subsz")).body, /^\{\n {2}"num_subscriptions": \d+,\n/);
    const head = await get(tport, "/healthz", { method: "HEAD" });
    assert.equal(head.status, 200);
    assert.equal(head.body, "");
    assert.equal(head.headers["content-length"], "15");
  });

  test("the root page links every endpoint", async () => {
    const r = await get(tport, "/");
    assert.equal(r.status, 200);
    assert.equal(r.headers["content-type"], "text/html; charset=utf-8");
    for (const e of ["varz", "connz", "routez", "gatewayz", "leafz", "subsz", "accountz",
      "accstatz", "healthz", "metrics", "dashboard"])
      assert.ok(r.body.includes(`href="./${e}"`), e);
  });

  test("varz: the HTTP side's fields", async () => {
    await get(tport, "/connz");
    const v = await getJSON(tport, "/varz");
    assert.equal(v.http_port, tport);
    assert.equal(v.http_host, "127.0.0.1");
    assert.equal(v.https_port, 0);
    assert.equal(v.http_base_path, "");
    assert.ok(v.http_req_stats["/varz"] >= 1);
    assert.ok(v.http_req_stats["/connz"] >= 1);
  });
});

// ---- connz paging and sorting ---------------------------------------------------

describe("monitor: connz paging and sorting", () => {
  let server, port;
  const conns = [];
  before(async () => {
    server = await startServer("ternd", {}, { ternd: MONITOR_YAML });
    port = await monitorPort(server);
    // connection i publishes 3*i+1 messages of i+1 bytes and holds i subscriptions
    for (let i = 0; i < 6; i++) {
      const nc = await connect({ servers: server.url, name: `c${i}`, reconnect: false });
      for (let k = 0; k < i; k++) nc.subscribe(`s.${i}.${k}`);
      for (let k = 0; k < 3 * i + 1; k++) nc.publish("nobody", new Uint8Array(i + 1));
      await nc.flush();
      conns.push(nc);
    }
  });
  after(async () => {
    for (const nc of conns) if (!nc.isClosed()) await nc.close();
    await server?.stop();
  });

  const names = (doc) => doc.connections.map((c) => c.name);

  test("sorted by cid, paged", async () => {
    const all = await getJSON(port, "/connz");
    assert.equal(all.total, 6);
    assert.deepEqual(names(all), ["c0", "c1", "c2", "c3", "c4", "c5"]);
    const page = await getJSON(port, "/connz?offset=2&limit=3");
    assert.equal(page.total, 6);
    assert.equal(page.offset, 2);
    assert.equal(page.limit, 3);
    assert.equal(page.num_connections, 3);
    assert.deepEqual(names(page), ["c2", "c3", "c4"]);
    const tail = await getJSON(port, "/connz?offset=5&limit=3");
    assert.deepEqual(names(tail), ["c5"]);
    const past = await getJSON(port, "/connz?offset=10");
    assert.equal(past.num_connections, 0);
    const one = await getJSON(port, `/connz?cid=${all.connections[3].cid}`);
    assert.deepEqual(names(one), ["c3"]);
  });

  test("every sort key", async () => {
    const desc = ["c5", "c4", "c3", "c2", "c1", "c0"];
    for (const key of ["subs", "msgs_from", "bytes_from"])
      assert.deepEqual(names(await getJSON(port, `/connz?sort=${key}`)), desc, key);
    const subs = await getJSON(port, "/connz?sort=subs&limit=2&offset=1");
    assert.deepEqual(names(subs), ["c4", "c3"]);
    for (const key of ["cid", "start"])
      assert.deepEqual(names(await getJSON(port, `/connz?sort=${key}`)), desc.slice().reverse(), key);
    // uptime ascending: the youngest first
    assert.deepEqual(names(await getJSON(port, "/connz?sort=uptime")), desc);
    for (const key of ["pending", "msgs_to", "bytes_to", "last", "idle"]) {
      const doc = await getJSON(port, `/connz?sort=${key}`);
      assert.equal(doc.connections.length, 6, key);
    }
    // nats-server 2.9.10 has no rtt sort either
    assert.equal((await get(port, "/connz?sort=rtt")).body, "invalid sorting option: rtt");
    const bad = await get(port, "/connz?sort=stop");
    assert.equal(bad.status, 400);
    assert.equal(bad.body, "sort by stop only valid on closed connections");
  });

  test("closed connections", async () => {
    const nc = conns[2];
    await nc.close();
    const closed = await waitFor(async () => {
      const d = await getJSON(port, "/connz?state=closed");
      return d.connections.some((c) => c.name === "c2") && d;
    }, "c2 in the closed ring");
    const c2 = closed.connections.find((c) => c.name === "c2");
    assert.equal(c2.reason, "Client Closed");
    assert.ok(c2.stop);
    const open = await getJSON(port, "/connz");
    assert.ok(!names(open).includes("c2"));
    const any = await getJSON(port, "/connz?state=all");
    // (the start-up probe's connection is closed too: it has no name)
    assert.deepEqual(names(any).filter(Boolean).sort(), ["c0", "c1", "c2", "c3", "c4", "c5"]);
    const byStop = await getJSON(port, "/connz?state=closed&sort=stop");
    assert.ok(names(byStop).includes("c2"));
    assert.equal((await get(port, "/connz?state=all&sort=stop")).status, 400);
  });
});

// ---- metrics, load, malformed requests -------------------------------------------

describe("monitor: /metrics, load and malformed requests", () => {
  let tern, nats, tport, nport, dir;
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "tern-monitor-"));
    tern = await startServer("ternd", {}, { ternd: MONITOR_YAML });
    nats = await startServer("nats-server", {}, { "nats-server": "http_port: -1\n" });
    [tport, nport] = [await monitorPort(tern), await monitorPort(nats)];
  });
  after(async () => {
    await tern?.stop();
    await nats?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("promtool check metrics finds nothing to say", async () => {
    const nc = await connect({ servers: tern.url, name: "m", reconnect: false });
    nc.subscribe("m.>");
    for (let i = 0; i < 50; i++) nc.publish("m.x", sc.encode("hello"));
    await nc.flush();
    const r = await get(tport, "/metrics");
    assert.equal(r.status, 200);
    assert.equal(r.headers["content-type"], "text/plain; version=0.0.4; charset=utf-8");
    const file = path.join(dir, "metrics.txt");
    fs.writeFileSync(file, r.body);
    const res = spawnSync(PROMTOOL, ["check", "metrics"], { input: r.body, encoding: "utf8" });
    assert.equal(res.error, undefined, `${PROMTOOL}: ${res.error}`);
    assert.equal(res.status, 0, `promtool: ${res.stdout}${res.stderr}\n(${file})`);
    assert.equal((res.stdout + res.stderr).trim(), "");
    // the values are the documents'
    const v = await getJSON(tport, "/varz");
    const metric = (name) => {
      const m = new RegExp(`^${name} (\\S+)$`, "m").exec(r.body);
      assert.ok(m, name);
      return Number(m[1]);
    };
    assert.equal(metric("tern_connections"), v.connections);
    assert.ok(metric("tern_in_msgs_total") >= 50);
    assert.equal(metric("tern_subscriptions"), v.subscriptions);
    assert.equal(metric('tern_kind_connections\\{kind="client"\\}'), 1);
    assert.equal(metric('tern_client_rtt_seconds_count'), 1);
    assert.ok(metric('tern_account_received_msgs_total\\{account="\\$G"\\}') >= 50);
    assert.match(r.body, /^tern_http_requests_total\{path="\/metrics"\} 1$/m);
    await nc.close();
  });

  test("20 parallel requests, repeatedly, while a publisher runs", async () => {
    const pub = await connect({ servers: tern.url, reconnect: false });
    const sub = await connect({ servers: tern.url, reconnect: false });
    let received = 0;
    sub.subscribe("load.>", { callback: () => { received++; } });
    await sub.flush();
    let published = 0, running = true;
    const publisher = (async () => {
      while (running) {
        for (let i = 0; i < 100; i++) pub.publish("load.x", sc.encode("payload"));
        published += 100;
        await delay(1);
      }
      await pub.flush();
    })();
    const paths = ["/varz", "/connz?subs=1", "/subsz?subs=1", "/metrics", "/accstatz", "/healthz",
      "/routez", "/dashboard", "/", "/accountz?acc=$G"];
    for (let round = 0; round < 5; round++) {
      const rs = await Promise.all(Array.from({ length: 20 }, (_, i) => get(tport, paths[i % paths.length])));
      for (const [i, r] of rs.entries()) {
        assert.equal(r.status, 200, paths[i % paths.length]);
        if (!/dashboard|metrics|^\/$/.test(paths[i % paths.length])) JSON.parse(r.body);
      }
    }
    // keep-alive: many requests on few sockets
    const agent = new http.Agent({ keepAlive: true, maxSockets: 2 });
    const ka = await Promise.all(Array.from({ length: 40 }, () => get(tport, "/healthz", { agent })));
    assert.ok(ka.every((r) => r.status === 200 && r.body === '{"status":"ok"}'));
    agent.destroy();
    running = false;
    await publisher;
    await waitFor(() => received === published, `all ${published} messages (got ${received})`);
    await pub.close();
    await sub.close();
  });

  test("malformed requests: the same answers as nats-server, no harm", async () => {
    const bad = [
      "GARBAGE\r\n\r\n",
      "\x01\x02\x03\r\n\r\n",
      "GET /varz HTTP/1.1\r\nHost\r\n\r\n",
      "GET /varz HTTP/9.9\r\nHost: x\r\n\r\n",
      "GET /healthz HTTP/1.1\r\n\r\n",
      "GET  HTTP/1.1\r\n\r\n",
      `GET /healthz HTTP/1.1\r\nHost: x\r\nX: ${"a".repeat(2 << 20)}\r\n\r\n`,
    ];
    for (const b of bad) {
      const [t, n] = [await raw(tport, b), await raw(nport, b)];
      const line = (s) => s.split("\r\n")[0];
      assert.equal(line(t), line(n), JSON.stringify(b.slice(0, 40)));
      assert.ok(t.includes("Connection: close"), JSON.stringify(b.slice(0, 40)));
    }
    // a request split into single bytes is still one request
    const req = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    const answer = await new Promise((resolve) => {
      const chunks = [];
      const sock = net.connect({ host: "127.0.0.1", port: tport }, async () => {
        for (const ch of req) { sock.write(ch); await delay(1); }
      });
      sock.on("data", (c) => chunks.push(c));
      sock.on("close", () => resolve(Buffer.concat(chunks).toString()));
    });
    assert.match(answer, /^HTTP\/1\.1 200 OK\r\n[\s\S]*\{"status":"ok"\}$/);
    // the server is fine: HTTP and NATS
    assert.equal((await get(tport, "/healthz")).status, 200);
    const nc = await connect({ servers: tern.url, reconnect: false });
    await nc.flush();
    await nc.close();
  });
});

// ---- dashboard ----------------------------------------------------------------------

describe("monitor: dashboard in headless Chromium", () => {
  let server, port, browser, dir;
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "tern-dashboard-"));
    server = await startServer("ternd", {}, { ternd: MONITOR_YAML });
    port = await monitorPort(server);
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true,
      args: ["--headless", "--no-sandbox"] });
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("the message rate shown follows a publisher and matches /varz", async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    const requests = [];
    page.on("request", (r) => requests.push(r.url()));
    await page.goto(`http://127.0.0.1:${port}/dashboard?interval=250`);
    const shown = () => page.$eval("#rate-in-msgs", (e) => Number(e.dataset.value));
    await page.waitForFunction(() => Number(document.body.dataset.polls || 0) >= 3);
    assert.equal(await shown(), 0, "no traffic yet");

    // a steady publisher: 40 messages every 10 ms
    const nc = await connect({ servers: server.url, reconnect: false });
    const timer = setInterval(() => { for (let i = 0; i < 40; i++) nc.publish("dash", sc.encode("x")); }, 10);
    try {
      await page.waitForFunction(() => Number(document.getElementById("rate-in-msgs").dataset.value) > 0);
      // /varz over 2 s against what the page shows meanwhile
      const v1 = await getJSON(port, "/varz");
      const samples = [];
      const until = Date.now() + 2000;
      while (Date.now() < until) { samples.push(await shown()); await delay(250); }
      const v2 = await getJSON(port, "/varz");
      const rate = (v2.in_msgs - v1.in_msgs) / ((Date.parse(v2.now) - Date.parse(v1.now)) / 1000);
      const avg = samples.reduce((a, b) => a + b, 0) / samples.length;
      assert.ok(rate > 100, `varz rate ${rate}`);
      assert.ok(Math.abs(avg - rate) / rate < 0.5, `dashboard ${avg.toFixed(0)}/s vs varz ${rate.toFixed(0)}/s`);
      const text = await page.$eval("#rate-in-msgs", (e) => e.textContent);
      assert.match(text, /^\d/);
      const shot = path.join(dir, "dashboard.png");
      await page.screenshot({ path: shot, fullPage: true });
      assert.ok(fs.statSync(shot).size > 10000, "screenshot written");
      // charts were drawn: the canvas has non-background pixels
      const inked = await page.$eval("#c-msgs", (c) => {
        const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 3; i < d.length; i += 4) if (d[i]) n++;
        return n;
      });
      assert.ok(inked > 100, `msgs chart pixels ${inked}`);
    } finally {
      clearInterval(timer);
    }
    await nc.flush();
    // the rate falls back to 0 once the publisher stops
    await page.waitForFunction(() => Number(document.getElementById("rate-in-msgs").dataset.value) === 0);
    const tiles = await page.$eval("#connections", (e) => Number(e.dataset.value));
    assert.equal(tiles, 1);
    await nc.close();
    // self-contained: only this server's URLs were requested
    assert.ok(requests.every((u) => u.startsWith(`http://127.0.0.1:${port}/`)), requests.join(" "));
    await page.close();
  });
});

// ---- configuration: -m, reload, base_path, HTTPS ---------------------------------------

// ternd with its own arguments (startServer has none for -m).
async function spawnTernd(args, dir) {
  const port = await freePort();
  const proc = spawn(terndPath(), ["-a", "127.0.0.1", "-p", String(port), "--workers", "1", ...args],
    { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
  const s = { proc, port, output: "", kind: "ternd", url: `127.0.0.1:${port}` };
  proc.stdout.on("data", (c) => { s.output += c; });
  proc.stderr.on("data", (c) => { s.output += c; });
  s.exited = new Promise((r) => proc.once("exit", r));
  s.stop = async () => { if (proc.exitCode === null) { proc.kill("SIGTERM"); await s.exited; } };
  return s;
}

describe("monitor: configuration", () => {
  let dir;
  before(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), "tern-monconf-")); });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  test("-m overrides the files, also after a reload", async () => {
    const [mport, fport] = [await freePort(), await freePort()];
    const conf = path.join(dir, "conf.d");
    fs.mkdirSync(conf, { recursive: true });
    fs.writeFileSync(path.join(conf, "20-modules.yaml"),
      `modules:\n  monitor:\n    listen: 127.0.0.1:${fport}\n    base_path: /mon\n`);
    const s = await spawnTernd(["-c", conf, "-m", String(mport)], dir);
    try {
      assert.equal(await monitorPort(s), mport);
      const v = await waitFor(async () => { try { return await getJSON(mport, "/mon/varz"); } catch { return null; } },
        "the -m port");
      assert.equal(v.http_port, mport);
      assert.equal(v.http_base_path, "/mon");
      assert.equal((await get(mport, "/varz")).status, 404);
      assert.equal((await get(mport, "/mon")).status, 200);
      // a reload that changes the file's base path keeps the flag's port
      fs.writeFileSync(path.join(conf, "20-modules.yaml"),
        `modules:\n  monitor:\n    listen: 127.0.0.1:${fport}\n    base_path: /other\n`);
      s.proc.kill("SIGHUP");
      await waitFor(async () => (await get(mport, "/other/healthz")).status === 200, "the reloaded base path");
      assert.equal((await get(mport, "/mon/healthz")).status, 404);
      const v2 = await getJSON(mport, "/other/varz");
      assert.equal(v2.http_port, mport);
    } finally {
      await s.stop();
    }
  });

  test("a nats-server file's http_port and http_base_path", async () => {
    const mport = await freePort();
    const file = path.join(dir, "nats.conf");
    fs.writeFileSync(file, `http_port: ${mport}\nhttp_base_path: "/nm"\n`);
    const s = await spawnTernd(["-c", file], dir);
    try {
      assert.equal(await monitorPort(s), mport, s.output);
      const v = await getJSON(mport, "/nm/varz");
      assert.equal(v.http_port, mport);
      assert.equal(v.http_base_path, "/nm");
    } finally {
      await s.stop();
    }
  });

  test("HTTPS with the server's certificate", async () => {
    const tdir = path.join(dir, "tls");
    fs.mkdirSync(tdir, { recursive: true });
    execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
      "-nodes", "-keyout", "key.pem", "-out", "cert.pem", "-days", "2", "-subj", "/CN=127.0.0.1",
      "-addext", "subjectAltName=IP:127.0.0.1"], { cwd: tdir, stdio: "ignore" });
    const sport = await freePort();
    const s = await spawnTernd(["-ms", String(sport), "--tlscert", path.join(tdir, "cert.pem"),
      "--tlskey", path.join(tdir, "key.pem")], dir);
    try {
      assert.equal(await monitorPort(s, "https"), sport);
      const body = await new Promise((resolve, reject) => {
        https.get({ host: "127.0.0.1", port: sport, path: "/varz", ca: fs.readFileSync(path.join(tdir, "cert.pem")) },
          (res) => { let b = ""; res.on("data", (c) => { b += c; }); res.on("end", () => resolve(b)); })
          .on("error", reject);
      });
      const v = JSON.parse(body);
      assert.equal(v.https_port, sport);
      assert.equal(v.http_port, 0);
    } finally {
      await s.stop();
    }
  });
});
