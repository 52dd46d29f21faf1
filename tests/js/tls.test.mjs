// nats.js over TLS: the server requires TLS (certificates made here with
// the openssl command line); a client given the CA (`tls: { caFile }`)
// upgrades after the plain INFO and does pub/sub and request/reply; a
// client that does not trust the CA is refused by its own verification.
// TERN_TEST_SERVER=nats-server runs the same scenario against nats-server.
//
// Env: TERND (ternd binary), NATS_SERVER (default nats-server).
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { connect, StringCodec } from "nats";
import { startServer } from "./lib/server.mjs";

const kind = process.env.TERN_TEST_SERVER === "nats-server" ? "nats-server" : "ternd";
const sc = StringCodec();
const TIMEOUT = { timeout: 15000 };

function openssl(dir, ...args) {
  execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
}

// A CA and a server certificate for 127.0.0.1 / localhost, signed by it.
function makeCerts(dir) {
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  openssl(dir, "req", "-x509", ...ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
    "-subj", "/CN=Tern JS Test CA");
  openssl(dir, "req", "-new", ...ec, "-keyout", "server.key", "-out", "server.csr",
    "-subj", "/CN=localhost");
  fs.writeFileSync(path.join(dir, "server.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
  openssl(dir, "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
    "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "server.ext");
  return {
    ca: path.join(dir, "ca.pem"),
    cert: path.join(dir, "server.pem"),
    key: path.join(dir, "server.key"),
  };
}

describe(`nats.js over TLS against ${kind}`, () => {
  let server;
  let certDir;
  let certs;
  const conns = [];

  before(async () => {
    certDir = fs.mkdtempSync(path.join(os.tmpdir(), "tern-js-tls-"));
    certs = makeCerts(certDir);
    // Each server's own spelling of the same TLS block.
    const tls = kind === "ternd"
      ? `{cert: "${certs.cert}", key: "${certs.key}"}`
      : `{cert_file: "${certs.cert}", key_file: "${certs.key}"}`;
    server = await startServer(kind, { tls });
  });

  after(async () => {
    await Promise.allSettled(conns.filter((nc) => !nc.isClosed()).map((nc) => nc.close()));
    if (server) await server.stop();
    if (certDir) fs.rmSync(certDir, { recursive: true, force: true });
  });

  test("a client trusting the CA connects, publishes, subscribes and requests", TIMEOUT, async () => {
    const opts = { servers: server.url, reconnect: false, timeout: 5000, tls: { caFile: certs.ca } };
    const sub = await connect(opts);
    conns.push(sub);
    const pub = await connect(opts);
    conns.push(pub);
    assert.equal(sub.info.tls_required, true);

    const got = [];
    const done = new Promise((resolve) => {
      sub.subscribe("tls.>", {
        callback: (err, m) => {
          assert.ifError(err);
          got.push(`${m.subject}=${sc.decode(m.data)}`);
          if (got.length === 2) resolve();
        },
      });
    });
    sub.subscribe("tls.svc", {
      callback: (err, m) => { assert.ifError(err); m.respond(sc.encode(`re:${sc.decode(m.data)}`)); },
    });
    await sub.flush();
    pub.publish("tls.a", sc.encode("one"));
    pub.publish("tls.b.c", sc.encode("two"));
    await done;
    assert.deepEqual(got, ["tls.a=one", "tls.b.c=two"]);

    const reply = await pub.request("tls.svc", sc.encode("ping"), { timeout: 5000 });
    assert.equal(sc.decode(reply.data), "re:ping");

    // 512 KiB each way through the TLS records.
    const big = new Uint8Array(512 * 1024).map((_, i) => (i * 31) & 0xff);
    const echoed = new Promise((resolve) => {
      sub.subscribe("tls.big", { max: 1, callback: (err, m) => { assert.ifError(err); resolve(m.data); } });
    });
    await sub.flush();
    pub.publish("tls.big", big);
    assert.deepEqual(await echoed, big);

    await pub.close();
    await sub.close();
  });

  test("a client that does not trust the CA is refused", TIMEOUT, async () => {
    await assert.rejects(
      connect({ servers: server.url, reconnect: false, timeout: 5000, tls: {} }),
      (err) => {
        assert.match(String(err.message || err.code), /certificate|CERT|self.signed|verify/i);
        return true;
      },
    );
  });
});
