// Two-step sign-in in the browser: password, then the one-time code.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";

import { signInApi } from "./lib/api.mjs";
import { launchChromium } from "./lib/browser.mjs";
import { startAttest } from "./lib/server.mjs";
import { totp } from "./lib/totp.mjs";

const EMAIL = "ada@example.com";
const PASSWORD = "a quiet violet harbour";

let server;
let browser;
let secret;

/** Enrols TOTP over the API. */
async function enrol(base) {
  const api = await signInApi(base, EMAIL, PASSWORD);
  const begin = await api.post("/api/v1/me/totp");
  const confirm = await api.post("/api/v1/me/totp/confirm", { code: totp(begin.body.secret) });
  assert.equal(confirm.status, 200);
  return begin.body.secret;
}

before(async () => {
  server = await startAttest();
  server.createOperator(EMAIL, PASSWORD);
  secret = await enrol(server.base);
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test("an account with TOTP signs in with its password, then a code", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${server.base}/sign-in`);
  await page.waitForSelector("html[data-hydrated='true']");
  await page.fill("#email", EMAIL);
  await page.fill("#password", PASSWORD);
  await page.click("button[type=submit]");
  await page.waitForSelector("#totp");
  assert.match(await page.textContent("[role=alert]"), /code from your authenticator/);
  await page.fill("#totp", totp(secret));
  await page.click("button[type=submit]");
  await page.waitForURL(`${server.base}/dashboard`);
  await context.close();
});
