// A real OpenID provider for tests: the certified npm `oidc-provider`, on a
// free loopback port, with static confidential clients and a signing key read
// from a PEM file (so a test can also sign tokens "as the IdP").
//
// Run: node e2e/lib/idp.mjs  with
//   IDP_CLIENTS   JSON array of {client_id, client_secret, redirect_uris, backchannel_logout_uri?}
//   IDP_KEY_FILE  RSA private key (PKCS#1 PEM); its `kid` is "test-key"
// It prints one line `{"issuer": "http://127.0.0.1:PORT"}` when ready.
//
// Interactions complete by themselves for tests: the account that signs in is
// the one named by the last `POST /_test/next-login {"account": id}`. Accounts
// are added with `POST /_test/accounts {"id","email","email_verified","name"}`.
// Everything else (authorization, PKCE, codes, tokens, JWKS) is oidc-provider's.
import { createPrivateKey } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer } from "node:http";

import Provider from "oidc-provider";

const clients = JSON.parse(process.env.IDP_CLIENTS ?? "[]");
const keys = (process.env.IDP_KEY_FILE ?? "")
  .split(",")
  .filter(Boolean)
  .map((file, i) => ({
    ...createPrivateKey(readFileSync(file)).export({ format: "jwk" }),
    kid: i === 0 ? "test-key" : `test-key-${i}`,
    alg: "RS256",
    use: "sig",
  }));

const accounts = new Map();
let nextLogin = null;

const server = createServer();
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: clients.map((c) => ({
    grant_types: ["authorization_code"],
    response_types: ["code"],
    token_endpoint_auth_method: "client_secret_basic",
    ...c,
  })),
  jwks: { keys },
  conformIdTokenClaims: false,
  claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["name"] },
  features: {
    devInteractions: { enabled: false },
    backchannelLogout: { enabled: true },
  },
  pkce: { required: () => true },
  cookies: { keys: ["attest-test-idp"] },
  // oidc-provider refuses to call loopback addresses (its own SSRF guard); the
  // Attest it calls back (back-channel logout) runs on loopback in tests.
  fetch(url, options) {
    const { dispatcher: _guard, ...rest } = options;
    return globalThis.fetch(url, rest);
  },
  async findAccount(_ctx, id) {
    const account = accounts.get(id);
    if (!account) return undefined;
    return {
      accountId: id,
      async claims() {
        return { sub: id, email: account.email, email_verified: account.email_verified, name: account.name };
      },
    };
  },
});
provider.proxy = false;
// Problems show on stderr (a test that keeps it sees why a call-back failed).
for (const event of ["backchannel.error", "server_error", "end_session.error"]) {
  provider.on(event, (...args) => console.error(event, ...args.map((a) => `${a} ${a?.cause ?? ""}`)));
}
provider.on("backchannel.success", (_client, accountId) => console.error("backchannel.success", accountId));

async function readJson(req) {
  let body = "";
  for await (const chunk of req) body += chunk;
  return body ? JSON.parse(body) : {};
}

async function completeInteraction(req, res) {
  const details = await provider.interactionDetails(req, res);
  if (details.prompt.name === "login") {
    if (!nextLogin || !accounts.has(nextLogin)) {
      res.writeHead(400).end("no test account chosen for sign-in");
      return;
    }
    await provider.interactionFinished(req, res, { login: { accountId: nextLogin } }, { mergeWithLastSubmission: false });
    return;
  }
  const grant = new provider.Grant({ accountId: details.session.accountId, clientId: details.params.client_id });
  grant.addOIDCScope(details.params.scope);
  const grantId = await grant.save();
  await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
}

const callback = provider.callback();
server.on("request", async (req, res) => {
  try {
    if (req.method === "POST" && req.url === "/_test/accounts") {
      const account = await readJson(req);
      accounts.set(account.id, account);
      res.writeHead(204).end();
    } else if (req.method === "POST" && req.url === "/_test/next-login") {
      nextLogin = (await readJson(req)).account;
      res.writeHead(204).end();
    } else if (req.method === "GET" && req.url.startsWith("/interaction/")) {
      await completeInteraction(req, res);
    } else {
      callback(req, res);
    }
  } catch (error) {
    res.writeHead(500).end(String(error));
  }
});

process.stdout.write(`${JSON.stringify({ issuer })}\n`);
