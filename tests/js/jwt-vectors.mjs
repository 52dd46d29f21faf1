// Makes tests/unit/data/jwt_vectors.json with the npm packages nats-jwt and
// nkeys.js (independent of Tern's C code), for tests/unit/test_jwt.c:
//   cd tests/js && npm ci && node jwt-vectors.mjs > ../unit/data/jwt_vectors.json
// Each vector: the token, the kind, the issuer and subject public keys, and
// the claims nats-jwt decoded (after checking the signature itself).
import * as jwt from "nats-jwt";
import * as nk from "nkeys.js";

const op = nk.createOperator(), opSk = nk.createOperator();
const acc = nk.createAccount(), accSk = nk.createAccount(), acc2 = nk.createAccount();
const user = nk.createUser(), user2 = nk.createUser();
const seed = (kp) => new TextDecoder().decode(kp.getSeed());
const now = Math.floor(Date.now() / 1000);

const tokens = [];
const add = (what, token) => tokens.push({ what, token });

add("operator", await jwt.encodeOperator("op", op, {
  signing_keys: [opSk.getPublicKey()], system_account: acc2.getPublicKey(),
  account_server_url: "http://127.0.0.1:9090/jwt/v1",
}));
add("account", await jwt.encodeAccount("acc", acc, {
  signing_keys: [accSk.getPublicKey()],
  limits: { conn: 10, subs: 100, payload: 1024, data: -1, imports: -1, exports: -1, wildcards: true },
  exports: [{ name: "svc", subject: "svc.>", type: "service", token_req: true }],
  revocations: { [user2.getPublicKey()]: now },
}, { signer: opSk }));
add("user", await jwt.encodeUser("alice", user, acc, {
  pub: { allow: ["a.>", "_INBOX.>"], deny: ["a.secret"] }, sub: { allow: ["b.*", "q.> workers"] },
  resp: { max: 1, ttl: 5000000000 }, bearer_token: false,
}, { exp: now + 3600 }));
add("user_signing_key", await jwt.encodeUser("bob", user2, acc, {}, { signer: accSk }));
add("activation", await jwt.encodeActivation("act", acc2, acc, "service", { subject: "svc.a" }));
add("generic", await jwt.encodeGeneric("gen", op, "delete", { accounts: [acc.getPublicKey()] }));
add("user_v1", await jwt.encodeUser("v1", user, acc, {}, { algorithm: jwt.Algorithms.v1 }));

const vectors = tokens.map(({ what, token }) => {
  const claims = jwt.decode(token);   // verifies the signature
  return { what, token, claims };
});
const creds = new TextDecoder().decode(jwt.fmtCreds(tokens[2].token, user));
console.log(JSON.stringify({
  generator: "tests/js/jwt-vectors.mjs (nats-jwt 0.0.9, nkeys.js 1.1.0)",
  seeds: { operator: seed(op), operator_sk: seed(opSk), account: seed(acc), account_sk: seed(accSk),
           user: seed(user) },
  vectors,
  creds,
}, null, 1));
