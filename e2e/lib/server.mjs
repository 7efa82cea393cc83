// Starts the real `attest` binary on a free port with a fresh SQLite database in
// a temporary folder, and stops it again.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

export async function startAttest(extraEnv = {}) {
  const bin = process.env.ATTEST_BIN;
  if (!bin) throw new Error("ATTEST_BIN must point at the attest binary");
  const dir = mkdtempSync(join(tmpdir(), "attest-e2e-"));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const env = {
    PATH: process.env.PATH,
    ATTEST_LISTEN: `127.0.0.1:${port}`,
    ATTEST_PUBLIC_URL: base,
    ...extraEnv,
  };
  const child = spawn(bin, ["serve"], {
    cwd: dir,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let log = "";
  child.stdout.on("data", (d) => (log += d));
  child.stderr.on("data", (d) => (log += d));

  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const res = await fetch(`${base}/readyz`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (child.exitCode !== null || Date.now() > deadline) {
      throw new Error(`attest did not become ready:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }

  return {
    base,
    dir,
    log: () => log,
    /** Creates a platform operator through the CLI, as an operator would. */
    createOperator(email, password) {
      const out = spawnSync(bin, ["admin", "create", "--email", email, "--password-stdin"], {
        cwd: dir,
        env,
        input: `${password}\n`,
        encoding: "utf8",
      });
      if (out.status !== 0) throw new Error(`admin create failed: ${out.stderr}`);
    },
    async stop() {
      child.kill("SIGTERM");
      await new Promise((r) => (child.exitCode !== null ? r() : child.once("exit", r)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
