// Cross-test: JWTs made by Tern's C code (through ternctl, which links
// kernel/jwt.c and kernel/nkeys.c) decode and verify with the independent
// npm package nats-jwt; ternctl's .creds parse with nats-jwt's parseCreds.
// The other direction (nats-jwt's tokens in C) is tests/unit/test_jwt.c.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as jwt from "nats-jwt";

const TERNCTL = process.env.TERNCTL;

test("ternctl's JWTs verify with nats-jwt", { skip: !TERNCTL && "TERNCTL not set" }, async () => {
  const home = mkdtempSync(join(tmpdir(), "tern-jwt-"));
  const env = { ...process.env, TERNCTL_HOME: home };
  const ctl = (...args) => execFileSync(TERNCTL, args, { env, encoding: "utf8" });
  try {
    ctl("init", "op");
    ctl("add", "account", "APP", "--conn", "5");
    ctl("add", "user", "alice", "--account", "APP", "--allow-pub", "a.>", "--deny-sub", "b.>",
        "--bearer", "--expiry", "1h");
    ctl("add", "signing-key", "--account", "APP");
    ctl("add", "user", "bob", "--account", "APP");
    const store = join(home, "operators", "op");
    const read = (p) => readFileSync(join(store, p), "utf8").trim();

    const op = jwt.decode(read("op.jwt"));            // throws on a bad signature
    assert.equal(op.nats.type, "operator");
    assert.equal(op.iss, op.sub);
    assert.match(op.nats.system_account, /^A/);

    const acc = jwt.decode(read("accounts/APP/APP.jwt"));
    assert.equal(acc.nats.type, "account");
    assert.equal(acc.iss, op.sub);
    assert.equal(acc.nats.limits.conn, 5);
    assert.equal(acc.nats.version, 2);
    assert.match(acc.jti, /^[A-Z2-7]{52}$/);

    const alice = jwt.decode(read("accounts/APP/users/alice.jwt"));
    assert.equal(alice.iss, acc.sub);
    assert.deepEqual(alice.nats.pub, { allow: ["a.>"] });
    assert.deepEqual(alice.nats.sub, { deny: ["b.>"] });
    assert.equal(alice.nats.bearer_token, true);
    assert.ok(alice.exp > alice.iat);

    const bob = jwt.decode(read("accounts/APP/users/bob.jwt"));
    assert.equal(bob.nats.issuer_account, acc.sub);
    assert.notEqual(bob.iss, acc.sub);
    const signer = jwt.decode(read("accounts/APP/APP.jwt")).nats.signing_keys;
    assert.ok(signer.includes(bob.iss));

    const creds = ctl("generate", "creds", "alice", "--account", "APP");
    const parsed = await jwt.parseCreds(new TextEncoder().encode(creds));
    assert.equal(parsed.uc.sub, alice.sub);
    assert.equal(parsed.aid, acc.sub);

    // A tampered token is refused by nats-jwt too.
    const tok = read("accounts/APP/users/alice.jwt");
    const bad = tok.slice(0, -3) + (tok.at(-3) === "A" ? "B" : "A") + tok.slice(-2);
    assert.throws(() => jwt.decode(bad));
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});
