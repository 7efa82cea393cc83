// Attest's flags through an official OpenFeature OFREP provider: boolean,
// string, number and object flags, a targeting match, a flag not found, and a
// revoked key, as a service using the OpenFeature SDK meets them.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";

import { OpenFeature } from "@openfeature/server-sdk";
import { OFREPProvider } from "@openfeature/ofrep-provider";

import { signInApi } from "./lib/api.mjs";
import { startAttest } from "./lib/server.mjs";

const PASSWORD = "a quiet violet harbour";
let server;
let ada;

before(async () => {
  server = await startAttest();
  server.createOperator("ada@example.com", PASSWORD);
  ada = await signInApi(server.base, "ada@example.com", PASSWORD);
  await ada.post("/api/v1/orgs", { slug: "acme", name: "Acme" });
  const flags = [
    { key: "new-checkout", enabled: true },
    {
      key: "theme", enabled: true, type: "string", variants: { dark: "dark", light: "light" }, default_variant: "light",
      rules: [{ conditions: [{ attribute: "email", operator: "ends_with", value: "@acme.com" }], variant: "dark" }],
    },
    { key: "page-size", enabled: true, type: "number", variants: { small: 10, large: 50 }, default_variant: "large" },
    { key: "limits", enabled: true, type: "object", variants: { base: { seats: 5 } }, default_variant: "base" },
  ];
  for (const flag of flags) {
    const made = await ada.post("/api/v1/orgs/acme/flags", flag);
    assert.equal(made.status, 201, JSON.stringify(made.body));
  }
});

after(async () => {
  await OpenFeature.close();
  await server?.stop();
});

async function keyReadingFlags() {
  const made = await ada.post("/api/v1/orgs/acme/api-keys", { name: "svc", permissions: ["flags:read"] });
  assert.equal(made.status, 201);
  return made.body;
}

test("the OpenFeature SDK evaluates Attest's flags over OFREP", async () => {
  const { id, key } = await keyReadingFlags();
  const provider = new OFREPProvider({ baseUrl: server.base, headers: [["Authorization", `Bearer ${key}`]] });
  await OpenFeature.setProviderAndWait("attest", provider);
  const client = OpenFeature.getClient("attest");
  const context = { targetingKey: "user-7", email: "ada@acme.com" };

  const checkout = await client.getBooleanDetails("new-checkout", false, context);
  assert.deepEqual([checkout.value, checkout.reason, checkout.variant], [true, "STATIC", "on"]);
  const theme = await client.getStringDetails("theme", "none", context);
  assert.deepEqual([theme.value, theme.reason], ["dark", "TARGETING_MATCH"]);
  const plain = await client.getStringDetails("theme", "none", { targetingKey: "user-8", email: "bob@globex.com" });
  assert.deepEqual([plain.value, plain.reason], ["light", "DEFAULT"]);
  assert.equal(await client.getNumberValue("page-size", 0, context), 50);
  assert.deepEqual(await client.getObjectValue("limits", {}, context), { seats: 5 });

  const missing = await client.getBooleanDetails("no-such-flag", false, context);
  assert.deepEqual([missing.value, missing.errorCode], [false, "FLAG_NOT_FOUND"]);
  // The SDK checks the type it asked for.
  const mismatch = await client.getNumberDetails("theme", 3, context);
  assert.deepEqual([mismatch.value, mismatch.errorCode], [3, "TYPE_MISMATCH"]);

  const revoked = await fetch(`${server.base}/api/v1/orgs/acme/api-keys/${id}`, {
    method: "DELETE",
    headers: { authorization: `Bearer ${(await keyManaging()).key}` },
  });
  assert.equal(revoked.status, 204);
  const refused = await client.getBooleanDetails("new-checkout", false, context);
  assert.equal(refused.value, false, "the code default once the key is revoked");
  assert.equal(refused.reason, "ERROR");
});

async function keyManaging() {
  const made = await ada.post("/api/v1/orgs/acme/api-keys", { name: "ops", permissions: ["api_keys:manage"] });
  assert.equal(made.status, 201);
  return made.body;
}
