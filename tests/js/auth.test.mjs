// Authentication with the real nats.js client (npm "nats" v2) against
// ternd: user/password (plain and bcrypt), token, and an nkey user signing
// the INFO nonce with nkeys.js. TERN_TEST_SERVER=nats-server runs the same
// scenario against nats-server, to check the test itself.
//
// Env: TERND (ternd binary), NATS_SERVER (default nats-server).
import { describe, test, after } from "node:test";
import assert from "node:assert/strict";
import { connect, StringCodec, nkeyAuthenticator, ErrorCode } from "nats";
import { createUser, fromSeed } from "nkeys.js";
import { startServer } from "./lib/server.mjs";

const kind = process.env.TERN_TEST_SERVER === "nats-server" ? "nats-server" : "ternd";
const sc = StringCodec();
const TIMEOUT = { timeout: 20000 };
const te = new TextEncoder();

// bcrypt of "s3cret" (cost 10), made with libcrypt's crypt_r.
const BCRYPT = "$2b$10$aZQ5S4KF9DKeG.HvZdsWce3NoDP4VdXSAdMYbA3kf3H/x.N8I.OB2";

const userKey = createUser();
const USER_PUB = userKey.getPublicKey();
const stranger = createUser();

const servers = [];
async function start(yaml, conf) {
  const s = await startServer(kind, {}, { ternd: yaml, "nats-server": conf });
  servers.push(s);
  return s;
}

async function roundtrip(nc) {
  const sub = nc.subscribe("auth.js", { max: 1 });
  const got = (async () => { for await (const m of sub) return sc.decode(m.data); })();
  nc.publish("auth.js", sc.encode("hi"));
  assert.equal(await got, "hi");
}

async function expectOk(server, opts) {
  const nc = await connect({ servers: server.url, reconnect: false, timeout: 5000, ...opts });
  await roundtrip(nc);
  await nc.close();
}

async function expectDenied(server, opts) {
  await assert.rejects(
    connect({ servers: server.url, reconnect: false, timeout: 5000, ...opts }),
    (err) => err.code === ErrorCode.AuthorizationViolation || /Authorization Violation/.test(err.message),
  );
}

describe(`nats.js authentication against ${kind}`, () => {
  after(async () => {
    await Promise.allSettled(servers.map((s) => s.stop()));
  });

  test("user and password, plain and bcrypt", TIMEOUT, async () => {
    const users = `[ {user: a, password: b}, {user: bc, password: "${BCRYPT}"} ]`;
    const s = await start(`authorization:\n  users: ${users}\n`, `authorization { users: ${users} }\n`);
    await expectOk(s, { user: "a", pass: "b" });
    await expectOk(s, { user: "bc", pass: "s3cret" });
    await expectDenied(s, { user: "a", pass: "nope" });
    await expectDenied(s, { user: "bc", pass: "S3cret" });
    await expectDenied(s, {});
  });

  test("token", TIMEOUT, async () => {
    const s = await start("authorization:\n  token: t0k3n\n", "authorization { token: t0k3n }\n");
    await expectOk(s, { token: "t0k3n" });
    await expectDenied(s, { token: "wrong" });
  });

  test("nkey user signing the nonce", TIMEOUT, async () => {
    const s = await start(`authorization:\n  users: [ {nkey: ${USER_PUB}} ]\n`,
      `authorization { users: [ {nkey: ${USER_PUB}} ] }\n`);
    const nc = await connect({ servers: s.url, reconnect: false, timeout: 5000,
      authenticator: nkeyAuthenticator(userKey.getSeed()) });
    assert.match(nc.info.nonce, /^[A-Za-z0-9_-]{15}$/);
    // the client signs the nonce text; so can anyone holding the seed
    const kp = fromSeed(userKey.getSeed());
    assert.ok(kp.verify(te.encode(nc.info.nonce), kp.sign(te.encode(nc.info.nonce))));
    await roundtrip(nc);
    await nc.close();
    await expectDenied(s, { authenticator: nkeyAuthenticator(stranger.getSeed()) });
  });

  test("no_auth_user lets a client without credentials in", TIMEOUT, async () => {
    const users = "[ {user: a, password: b}, {user: guest, password: g} ]";
    const s = await start(`authorization:\n  users: ${users}\nno_auth_user: guest\n`,
      `authorization { users: ${users} }\nno_auth_user: guest\n`);
    const nc = await connect({ servers: s.url, reconnect: false, timeout: 5000 });
    assert.ok(!nc.info.auth_required);
    await roundtrip(nc);
    await nc.close();
    await expectOk(s, { user: "a", pass: "b" });
    await expectDenied(s, { user: "a", pass: "x" });
  });
});
