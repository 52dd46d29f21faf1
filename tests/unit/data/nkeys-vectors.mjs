// Regenerates the vectors in tests/unit/test_nkeys.c (run from tests/js after npm ci):
//   cd tests/js && npm ci && node --input-type=module < ../unit/data/nkeys-vectors.mjs
import * as nk from "nkeys.js";
const te = new TextEncoder();
const kinds = [["user", nk.createUser], ["account", nk.createAccount], ["operator", nk.createOperator],
  ["server", nk.createServer], ["cluster", nk.createCluster]];
for (const [k, f] of kinds) {
  const kp = f();
  const seed = new TextDecoder().decode(kp.getSeed());
  const pub = kp.getPublicKey();
  const msg = "nonce-" + k;
  const sig = Buffer.from(kp.sign(te.encode(msg))).toString("hex");
  console.log(JSON.stringify({k, seed, pub, msg, sig}));
}
