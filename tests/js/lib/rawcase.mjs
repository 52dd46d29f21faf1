// Drive one raw TCP connection through a bad-input case and record what the
// server answered, so that two servers' answers can be compared byte for byte.
import net from "node:net";

// A case normally ends in milliseconds; the deadlines only bound a server
// that sends no INFO, or that neither answers the final PING nor closes.
const INFO_DEADLINE_MS = 2000;
const CASE_DEADLINE_MS = 2000;

const PROBE = "PING\r\n";
const PONG = "PONG\r\n";

function countOf(haystack, needle) {
  let n = 0;
  for (let i = haystack.indexOf(needle); i !== -1; i = haystack.indexOf(needle, i + needle.length)) n++;
  return n;
}

const pause = (ms) => new Promise((r) => setTimeout(r, ms));

// INFO carries per-server values (server_id, port, nonce …): only its
// presence is compared.
export function normalise(text) {
  return text.replace(/INFO [^\n]*\n/g, "INFO <json>\n");
}

// Runs `kase` against 127.0.0.1:port. A case is
//   { writes: [string|Buffer …], pauseMs?, pongs? }
// Strings are sent as latin1 so that "\x00" … "\xff" are single bytes.
// Between writes the harness waits for the write callback, plus pauseMs
// (to make the server see the pieces in separate reads, for split frames).
// After the last write, if the server has not closed the connection, one
// PING is sent; the case ends when the server closes the connection or when
// it has sent (pongs + 1) PONGs (pongs = PINGs inside the case itself).
// Resolves to { info, out, closed, timedOut }; out is the latin1 text of all
// bytes received after the INFO line, normalised.
export function runCase(port, kase) {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: "127.0.0.1", port });
    let received = "";
    let closed = false;
    let infoLine = null;
    let probeSent = false;
    let finished = false;
    let wake = null; // resolves the current waitFor()

    const timers = [];
    const finish = (timedOut) => {
      if (finished) return;
      finished = true;
      timers.forEach(clearTimeout);
      sock.destroy();
      const after = infoLine === null ? received : received.slice(infoLine.length);
      resolve({
        info: infoLine !== null && infoLine.startsWith("INFO "),
        out: normalise(after),
        closed,
        timedOut,
      });
    };
    // Safety net should a write never complete (the server stopped reading).
    timers.push(setTimeout(() => finish(true), INFO_DEADLINE_MS + CASE_DEADLINE_MS + 1000));

    const poke = () => { if (wake) { const w = wake; wake = null; w(); } };
    sock.on("data", (chunk) => {
      received += chunk.toString("latin1");
      if (infoLine === null) {
        const eol = received.indexOf("\n");
        if (eol !== -1) infoLine = received.slice(0, eol + 1);
      }
      poke();
      checkDone();
    });
    // A reset after the server closed is still a close; the bytes it sent
    // before have been read already.
    sock.on("error", () => {});
    sock.on("close", () => {
      closed = true;
      poke();
      checkDone();
    });

    const waitFor = (cond, ms, what) => new Promise((res, rej) => {
      if (cond()) return res();
      const t = setTimeout(() => rej(new Error(`timed out waiting for ${what}`)), ms);
      timers.push(t);
      const again = () => {
        if (cond()) { clearTimeout(t); res(); } else wake = again;
      };
      wake = again;
    });

    function checkDone() {
      if (finished) return;
      if (closed) return finish(false);
      if (probeSent && infoLine !== null) {
        const after = received.slice(infoLine.length);
        if (countOf(after, PONG) >= (kase.pongs || 0) + 1) finish(false);
      }
    }

    const write = (data) => new Promise((res) => {
      if (closed || sock.destroyed) return res();
      const buf = Buffer.isBuffer(data) ? data : Buffer.from(data, "latin1");
      sock.write(buf, () => res());
    });

    (async () => {
      await waitFor(() => infoLine !== null || closed, INFO_DEADLINE_MS, "INFO").catch(() => finish(true));
      if (closed || finished) return;
      for (let i = 0; i < kase.writes.length; i++) {
        if (i > 0 && kase.pauseMs) await pause(kase.pauseMs);
        await write(kase.writes[i]);
      }
      if (closed || finished) return;
      probeSent = true;
      timers.push(setTimeout(() => finish(true), CASE_DEADLINE_MS));
      await write(PROBE);
      checkDone();
    })().catch((err) => {
      if (!finished) {
        finished = true;
        timers.forEach(clearTimeout);
        sock.destroy();
        reject(err);
      }
    });
  });
}
