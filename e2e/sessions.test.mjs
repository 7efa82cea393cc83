// Signing in for real, and revocation reaching the other browser on its next
// navigation.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

import { launchChromium, watchForErrors } from "./lib/browser.mjs";
import { startAttest } from "./lib/server.mjs";

const artifacts = join(dirname(fileURLToPath(import.meta.url)), "artifacts");
const EMAIL = "ada@example.com";
const PASSWORD = "a quiet violet harbour";

let server;
let browser;

before(async () => {
  server = await startAttest();
  server.createOperator(EMAIL, PASSWORD);
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function signIn(context, password = PASSWORD) {
  const page = await context.newPage();
  await page.goto(`${server.base}/sign-in`);
  await page.waitForSelector("html[data-hydrated='true']");
  await page.fill("#email", EMAIL);
  await page.fill("#password", password);
  await page.click("button[type=submit]");
  return page;
}

test("a wrong password is refused with a clear message", async () => {
  const context = await browser.newContext();
  const page = await signIn(context, "not the password at all");
  await page.waitForSelector("[role=alert]:has-text('The email or password is wrong.')");
  assert.equal(new URL(page.url()).pathname, "/sign-in");
  await context.close();
});

test("signing in shows the dashboard; a revoked session is signed out on its next navigation", async () => {
  const first = await browser.newContext();
  const page = await signIn(first);
  const errors = watchForErrors(page);
  await page.waitForURL(`${server.base}/dashboard`);
  await page.waitForSelector("[data-testid=dashboard-title]:has-text('Welcome, ada')");
  assert.equal(await page.textContent("[data-testid=whoami]"), EMAIL);
  await page.screenshot({ path: join(artifacts, "dashboard.png"), fullPage: true });

  // A second browser signs in and revokes the first one's session.
  const second = await browser.newContext();
  const other = await signIn(second);
  await other.waitForURL(`${server.base}/dashboard`);
  await other.click("nav >> text=Account");
  await other.waitForSelector("[data-testid=sessions] tbody tr >> nth=1");
  await other.screenshot({ path: join(artifacts, "account-sessions.png"), fullPage: true });
  await other.click("[data-testid=revoke]");
  await other.waitForFunction(() => document.querySelectorAll("[data-testid=sessions] tbody tr").length === 1);

  // The first browser's next navigation finds its session gone.
  await page.click("nav >> text=Account");
  await page.waitForURL(`${server.base}/sign-in`);
  assert.deepEqual(
    errors.filter((e) => !e.includes("/auth/session") && !e.includes("status of 401")),
    [],
    "no errors besides the expected 401 of the revoked session",
  );
  await first.close();
  await second.close();
});

test("the account page downloads everything Attest holds about me", async () => {
  const context = await browser.newContext({ acceptDownloads: true });
  const page = await signIn(context);
  await page.waitForURL(`${server.base}/dashboard`);
  await page.click("nav >> text=Account");
  await page.waitForSelector("h2:has-text('Your data')");
  const [download] = await Promise.all([
    page.waitForEvent("download"),
    page.click("a:has-text('Download my data')"),
  ]);
  assert.equal(download.suggestedFilename(), "attest-personal-data.json");
  const data = JSON.parse(await readFile(await download.path(), "utf8"));
  assert.equal(data.user.email, EMAIL);
  assert.ok(data.sessions.some((s) => s.current), "the session that asked is marked");
  await context.close();
});

test("sign out ends the session", async () => {
  const context = await browser.newContext();
  const page = await signIn(context);
  await page.waitForURL(`${server.base}/dashboard`);
  await page.click("nav >> text=Sign out");
  await page.waitForURL(`${server.base}/sign-in`);
  await page.goto(`${server.base}/dashboard`);
  await page.waitForURL(`${server.base}/sign-in`);
  await context.close();
});
