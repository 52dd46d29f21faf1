// Start and stop one server process (ternd or nats-server) on a free
// loopback port, with its own temporary directory, for the JS tests.
import net from "node:net";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawn } from "node:child_process";

const START_DEADLINE_MS = 10000;
const STOP_DEADLINE_MS = 5000;
const POLL_MS = 20;

// Ask the kernel for a free port by binding port 0, then release it. Another
// process could take it before the server binds; start() retries for that.
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

export function terndPath() {
  return process.env.TERND || "";
}

export function natsServerPath() {
  return process.env.NATS_SERVER || "nats-server";
}

function tryConnect(port) {
  return new Promise((resolve) => {
    const sock = net.connect({ host: "127.0.0.1", port });
    sock.once("connect", () => {
      sock.destroy();
      resolve(true);
    });
    sock.once("error", () => resolve(false));
  });
}

// A server must not outlive this process, also when the test runner dies
// without running cleanup (node's test harness exits on an uncaught error
// without 'exit' handlers). setpriv (util-linux, always on Debian) sets
// PR_SET_PDEATHSIG and then execs the server, so the PID stays the server's.
const SETPRIV = ["/usr/bin/setpriv", "/bin/setpriv"].find((p) => fs.existsSync(p));

function spawnTied(binary, args, options) {
  if (!SETPRIV) return spawn(binary, args, options);
  return spawn(SETPRIV, ["--pdeathsig", "SIGKILL", "--", binary, ...args], options);
}

const delay = (ms) => new Promise((r) => setTimeout(r, ms));

// Writes the option set in the server's own configuration format and
// returns the extra command-line arguments that load it. extra: top-level
// text in that format, appended as it is (e.g. an authorization block).
function writeConfig(kind, dir, options, extra = "") {
  const keys = Object.keys(options);
  if (keys.length === 0 && !extra) return [];
  if (kind === "ternd") {
    const confDir = path.join(dir, "conf.d");
    fs.mkdirSync(confDir);
    const body = (keys.length ? "server:\n" : "") + keys.map((k) => `  ${k}: ${options[k]}\n`).join("");
    fs.writeFileSync(path.join(confDir, "00-server.yaml"), body + extra);
    return ["-c", confDir];
  }
  const file = path.join(dir, "server.conf");
  fs.writeFileSync(file, keys.map((k) => `${k}: ${options[k]}\n`).join("") + extra);
  return ["-c", file];
}

// A running server. kind is "ternd" or "nats-server"; options are
// server-level settings (e.g. { max_payload: 16, max_control_line: 64 });
// extra maps a kind to top-level configuration text in its format.
export class Server {
  constructor(kind, options = {}, extra = {}) {
    this.kind = kind;
    this.extra = extra[kind] || "";
    this.options = options;
    this.port = 0;
    this.dir = "";
    this.proc = null;
    this.exited = null; // promise resolved with { code, signal }
    this.output = "";
  }

  get running() {
    return this.proc !== null && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  // After a connection was closed: tells whether the process died (e.g.
  // crashed on the input). A dead process no longer accepts, and its exit is
  // then awaited (bounded) so that the report has its status and output.
  async checkAlive() {
    if (this.running && await tryConnect(this.port)) return true;
    let timer;
    const deadline = new Promise((r) => { timer = setTimeout(r, STOP_DEADLINE_MS); });
    await Promise.race([this.exited, deadline]);
    clearTimeout(timer);
    return this.running && await tryConnect(this.port);
  }

  describeExit() {
    const p = this.proc;
    const st = p ? `exit code ${p.exitCode}, signal ${p.signalCode}` : "not started";
    return `${this.kind} on ${this.url} is gone (${st}); its last output:\n${this.output}`;
  }

  get url() {
    return `127.0.0.1:${this.port}`;
  }

  binary() {
    if (this.kind === "ternd") {
      const p = terndPath();
      if (!p) throw new Error("TERND is not set: point it at the ternd binary");
      return p;
    }
    return natsServerPath();
  }

  async start() {
    let lastErr;
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await this.startOnce();
        return this;
      } catch (err) {
        lastErr = err;
        await this.stop();
        // Only an early exit (e.g. the port was taken meanwhile) is worth
        // another try; a server that never listens would only waste time.
        if (!err.exitedEarly) break;
      }
    }
    throw lastErr;
  }

  async startOnce() {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), `tern-js-${this.kind}-`));
    this.port = await freePort();
    const args = ["-a", "127.0.0.1", "-p", String(this.port),
      ...writeConfig(this.kind, this.dir, this.options, this.extra)];
    // ternd runs with two workers in the suite (TERN_TEST_WORKERS overrides).
    if (this.kind === "ternd") args.push("--workers", process.env.TERN_TEST_WORKERS || "2");
    this.output = "";
    const proc = spawnTied(this.binary(), args, { cwd: this.dir, stdio: ["ignore", "pipe", "pipe"] });
    this.proc = proc;
    const keep = (chunk) => {
      // Keep the tail only: enough to explain a failed start.
      this.output = (this.output + chunk.toString("latin1")).slice(-8192);
    };
    proc.stdout.on("data", keep);
    proc.stderr.on("data", keep);
    this.exited = new Promise((resolve) => {
      proc.once("exit", (code, signal) => resolve({ code, signal }));
      proc.once("error", (err) => {
        keep(`spawn error: ${err.message}\n`);
        resolve({ code: -1, signal: null });
      });
    });
    let gone = null;
    this.exited.then((st) => { gone = st; });
    const deadline = Date.now() + START_DEADLINE_MS;
    while (Date.now() < deadline) {
      if (gone) break;
      if (await tryConnect(this.port)) return;
      await delay(POLL_MS);
    }
    const why = gone ? `exited (code ${gone.code}, signal ${gone.signal})`
      : `did not accept on ${this.url} within ${START_DEADLINE_MS} ms`;
    const err = new Error(`${this.kind} ${args.join(" ")} ${why}\n${this.output}`);
    err.exitedEarly = gone !== null;
    throw err;
  }

  async stop() {
    const proc = this.proc;
    if (proc && proc.exitCode === null && proc.signalCode === null && proc.pid) {
      proc.kill("SIGTERM");
      let timer;
      const deadline = new Promise((r) => { timer = setTimeout(() => r("timeout"), STOP_DEADLINE_MS); });
      const outcome = await Promise.race([this.exited, deadline]);
      clearTimeout(timer);
      if (outcome === "timeout") {
        proc.kill("SIGKILL");
        await this.exited;
      }
    }
    this.proc = null;
    if (this.dir) {
      fs.rmSync(this.dir, { recursive: true, force: true });
      this.dir = "";
    }
  }
}

export async function startServer(kind, options = {}, extra = {}) {
  return new Server(kind, options, extra).start();
}
