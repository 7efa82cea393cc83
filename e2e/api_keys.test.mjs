// The API keys page: an admin creates a key with permissions picked from what
// they hold, sees it once with a copy button, the key works against the API,
// its last use shows, and rotating and revoking take effect.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

import { joinByInvitation, signInApi } from "./lib/api.mjs";
import { launchChromium, signInThroughPage, watchForErrors } from "./lib/browser.mjs";
import { startAttest } from "./lib/server.mjs";

const artifacts = join(dirname(fileURLToPath(import.meta.url)), "artifacts");
const PASSWORD = "a quiet violet harbour";
let server;
let browser;

before(async () => {
  server = await startAttest();
  server.createOperator("ada@example.com", PASSWORD);
  const ada = await signInApi(server.base, "ada@example.com", PASSWORD);
  await ada.post("/api/v1/orgs", { slug: "acme", name: "Acme" });
  // Bea is an admin: she holds everything but org:delete.
  await joinByInvitation(server, ada, "acme", "bea@example.com", ["admin"], "Bea", PASSWORD);
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const asKey = (key, path) => fetch(`${server.base}${path}`, { headers: { authorization: `Bearer ${key}` } });

test("an admin creates, uses, rotates and revokes an API key", async () => {
  const context = await browser.newContext();
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: server.base });
  const page = await context.newPage();
  const errors = watchForErrors(page);
  await signInThroughPage(page, server.base, "bea@example.com", PASSWORD);
  await page.click("a:has-text('API keys')");
  await page.waitForSelector("[data-testid=api-key-form]");

  // The picker offers exactly what Bea holds here: no org:delete.
  await page.waitForSelector("[data-testid=api-key-form] input[value='org:read']");
  const offered = await page.$$eval("[data-testid=api-key-form] input[type=checkbox]", (boxes) => boxes.map((b) => b.value));
  assert.ok(offered.includes("audit:read") && offered.includes("api_keys:manage"), offered.join());
  assert.ok(!offered.includes("org:delete"), "nothing Bea does not hold");

  await page.fill("#key-name", "Evidence sync");
  await page.check("[data-testid=api-key-form] input[value='org:read']");
  await page.check("[data-testid=api-key-form] input[value='members:read']");
  await page.click("[data-testid=api-key-form] button[type=submit]");
  await page.waitForSelector("[data-testid=new-key]");
  const key = (await page.textContent("[data-testid=new-key-value]")).trim();
  assert.match(key, /^atk_[0-9a-f]{16}_[0-9a-f]{48}$/);
  await page.click("[data-testid=copy-key]");
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), key);
  await page.screenshot({ path: join(artifacts, "api-key-created.png"), fullPage: true });

  // The key works, and only within what it was given.
  const me = await (await asKey(key, "/api/v1/me")).json();
  assert.equal(me.type, "api_key");
  assert.equal((await asKey(key, "/api/v1/orgs/acme/members")).status, 200);
  assert.equal((await asKey(key, "/api/v1/orgs/acme/audit-events")).status, 403);

  // Shown once: after a reload the page has only its prefix, and its last use.
  await page.reload();
  await page.waitForSelector("tr[data-key='Evidence sync']");
  assert.ok(!(await page.content()).includes(key.slice(21)), "the secret is gone");
  const row = page.locator("tr[data-key='Evidence sync']");
  assert.match(await row.locator("code").textContent(), new RegExp(`^${key.slice(0, 20)}`));
  // Use is written a few seconds later, off the request path: reload until it shows.
  for (let tries = 0; ; tries++) {
    const lastUsed = (await row.locator("[data-testid=last-used]").textContent()).trim();
    if (lastUsed !== "never") break;
    assert.ok(tries < 20, "the key's use is recorded");
    await new Promise((resolve) => setTimeout(resolve, 500));
    await page.reload();
    await page.waitForSelector("tr[data-key='Evidence sync']");
  }

  // Rotating shows a new key; the old one keeps working through the grace period.
  await row.locator("[data-testid=rotate-key]").click();
  await page.waitForSelector("[data-testid=new-key]");
  const rotated = (await page.textContent("[data-testid=new-key-value]")).trim();
  assert.notEqual(rotated, key);
  assert.equal((await asKey(rotated, "/api/v1/orgs/acme")).status, 200);
  assert.equal((await asKey(key, "/api/v1/orgs/acme")).status, 200);
  await page.click("button:has-text('Done')");

  // Revoking both: refused on the next request.
  for (const left of [1, 0]) {
    await Promise.all([
      page.waitForResponse((res) => res.request().method() === "DELETE" && res.status() === 204),
      page.locator("[data-testid=revoke-key]").first().click(),
    ]);
    await page.waitForFunction((n) => document.querySelectorAll("[data-testid=revoke-key]").length === n, left);
  }
  assert.equal((await asKey(rotated, "/api/v1/orgs/acme")).status, 401);
  assert.equal((await asKey(key, "/api/v1/orgs/acme")).status, 401);
  assert.deepEqual(errors, []);
  await context.close();
});

test("the interactive API docs render from the binary alone", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = watchForErrors(page);
  const outside = [];
  page.on("request", (req) => {
    if (!req.url().startsWith(server.base) && !req.url().startsWith("data:")) outside.push(req.url());
  });
  await page.goto(`${server.base}/api/docs/`);
  await page.waitForSelector(".opblock-summary-path[data-path='/api/v1/orgs/{org}/api-keys']");
  const operations = await page.locator(".opblock").count();
  assert.ok(operations >= 40, `${operations} operations shown`);
  await page.screenshot({ path: join(artifacts, "api-docs.png") });
  assert.deepEqual(outside, [], "nothing is fetched from elsewhere");
  assert.deepEqual(errors, []);
  await context.close();
});
