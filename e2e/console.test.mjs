// Console smoke test in a real browser: the page loads without errors, hydrates,
// becomes interactive, and still works with JavaScript switched off.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import { launchChromium, watchForErrors } from "./lib/browser.mjs";
import { startAttest } from "./lib/server.mjs";

const artifacts = join(dirname(fileURLToPath(import.meta.url)), "artifacts");
mkdirSync(artifacts, { recursive: true });

let server;
let browser;

before(async () => {
  server = await startAttest();
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test("the console loads without errors and hydrates", async () => {
  const page = await browser.newPage();
  const errors = watchForErrors(page);
  await page.goto(`${server.base}/`);
  await page.waitForSelector("html[data-hydrated='true']", { timeout: 15_000 });
  assert.equal(await page.title(), "Overview · Attest");
  await page.screenshot({ path: join(artifacts, "console-home.png"), fullPage: true });
  assert.deepEqual(errors, []);
});

test("the sign-in page is interactive once hydrated", async () => {
  const page = await browser.newPage();
  const errors = watchForErrors(page);
  await page.goto(`${server.base}/`);
  await page.waitForSelector("html[data-hydrated='true']");
  // Client-side navigation through the hydrated router.
  await page.click("nav >> text=Sign in");
  await page.waitForURL(`${server.base}/sign-in`);
  const password = page.locator("#password");
  assert.equal(await password.getAttribute("type"), "password");
  await page.click("[data-testid=toggle-password]");
  assert.equal(await password.getAttribute("type"), "text");
  await page.screenshot({ path: join(artifacts, "console-sign-in.png"), fullPage: true });
  assert.deepEqual(errors, []);
});

test("pages render without JavaScript", async () => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto(`${server.base}/sign-in`);
  assert.equal(await page.locator("form #email").count(), 1);
  assert.equal(await page.locator("html[data-hydrated]").count(), 0);
  await context.close();
});

test("an unknown page shows a friendly error", async () => {
  const page = await browser.newPage();
  const res = await page.goto(`${server.base}/no/such/page`);
  assert.equal(res.status(), 404);
  assert.match(await page.textContent("h1"), /Page not found/);
});
