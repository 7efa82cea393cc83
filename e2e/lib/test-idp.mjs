// Starts e2e/lib/idp.mjs (the npm `oidc-provider`) as a child process for a
// test, with clients that redirect to the Attest server at `attestBase`.
import { spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));

export async function startIdp(attestBase, clients) {
  const child = spawn(process.execPath, [join(here, "idp.mjs")], {
    env: {
      ...process.env,
      IDP_KEY_FILE: join(here, "../../backend/server/tests/fixtures/idp-test-key.pem"),
      IDP_CLIENTS: JSON.stringify(
        clients.map((c) => ({
          ...c,
          redirect_uris: [`${attestBase}/auth/sso/callback`],
          backchannel_logout_uri: `${attestBase}/auth/sso/backchannel-logout`,
        })),
      ),
    },
    stdio: ["ignore", "pipe", "ignore"],
  });
  const lines = createInterface({ input: child.stdout });
  const first = await new Promise((resolve, reject) => {
    lines.once("line", resolve);
    child.once("exit", (code) => reject(new Error(`the test IdP exited (${code})`)));
  });
  const { issuer } = JSON.parse(first);
  const post = async (path, body) => {
    const res = await fetch(`${issuer}${path}`, { method: "POST", body: JSON.stringify(body) });
    if (res.status !== 204) throw new Error(`${path}: ${res.status}`);
  };
  return {
    issuer,
    addAccount: (id, email) => post("/_test/accounts", { id, email, email_verified: true, name: `User ${id}` }),
    nextLogin: (account) => post("/_test/next-login", { account }),
    stop: () => child.kill(),
  };
}
