// A forgotten password reset in a browser with JavaScript off (plain forms),
// and a password change on the account page.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";

import { signInApi } from "./lib/api.mjs";
import { launchChromium, watchForErrors } from "./lib/browser.mjs";
import { mailedLink } from "./lib/mail.mjs";
import { startAttest } from "./lib/server.mjs";

const EMAIL = "ada@example.com";
const PASSWORD = "a quiet violet harbour";
const RESET = "a reset amber lighthouse";
const CHANGED = "a changed amber lighthouse";

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

test("a password is reset through the mailed link without JavaScript", async () => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto(`${server.base}/sign-in`);
  await page.click("[data-testid=forgot-password]");
  await page.waitForURL(`${server.base}/password-reset`);
  await page.fill("#email", EMAIL);
  await page.click("button[type=submit]");
  await page.waitForSelector("[data-testid=reset-sent]");

  const link = await mailedLink(server, EMAIL, /https?:\/\/\S+\/password-reset\?token=[\w-]+/);
  await page.goto(link);
  await page.fill("#new-password", "password1234");
  await page.click("button[type=submit]");
  await page.waitForSelector("[role=alert]:has-text('too easy to guess')");
  await page.fill("#new-password", RESET);
  await page.click("button[type=submit]");
  await page.waitForSelector("[data-testid=reset-done]");

  // The link worked once.
  await page.goto(link);
  await page.fill("#new-password", "yet another amber lighthouse");
  await page.click("button[type=submit]");
  await page.waitForSelector("[role=alert]:has-text('unknown, used or expired')");
  await signInApi(server.base, EMAIL, RESET);
  await context.close();
});

test("the account page changes the password", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = watchForErrors(page);
  await page.goto(`${server.base}/sign-in`);
  await page.waitForSelector("html[data-hydrated='true']");
  await page.fill("#email", EMAIL);
  await page.fill("#password", RESET);
  await page.click("button[type=submit]");
  await page.waitForURL(`${server.base}/dashboard`);
  await page.click("nav >> text=Account");
  await page.waitForSelector("[data-testid=change-password]");
  await page.fill("#current-password", "not the password");
  await page.fill("#new-password", CHANGED);
  await page.click("[data-testid=change-password] button[type=submit]");
  await page.waitForSelector("[data-testid=change-password] :text('Your current password is wrong.')");
  await page.fill("#current-password", RESET);
  await page.click("[data-testid=change-password] button[type=submit]");
  await page.waitForSelector("[data-testid=change-password] :text('Password changed.')");
  await signInApi(server.base, EMAIL, CHANGED);
  assert.deepEqual(
    errors.filter((e) => !e.includes("401")),
    [],
    "no errors besides the refused wrong password",
  );
  await context.close();
});

test("with JavaScript off, one signs in and changes the password", async () => {
  const NO_SCRIPT = "a password changed with no script";
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto(`${server.base}/account`);
  await page.waitForURL(`${server.base}/sign-in`);
  await page.fill("#email", EMAIL);
  await page.fill("#password", "not the password");
  await page.click("button[type=submit]");
  await page.waitForSelector("[role=alert]:has-text('The email or password is wrong.')");
  await page.fill("#email", EMAIL);
  await page.fill("#password", CHANGED);
  await page.click("button[type=submit]");
  await page.waitForURL(`${server.base}/dashboard`);

  await page.goto(`${server.base}/account`);
  await page.fill("#current-password", "not the password");
  await page.fill("#new-password", NO_SCRIPT);
  await page.click("[data-testid=change-password] button[type=submit]");
  await page.waitForSelector("[data-testid=change-password] :text('Your current password is wrong.')");
  await page.fill("#current-password", CHANGED);
  await page.fill("#new-password", NO_SCRIPT);
  await page.click("[data-testid=change-password] button[type=submit]");
  await page.waitForSelector("[data-testid=change-password] :text('Password changed.')");
  await signInApi(server.base, EMAIL, NO_SCRIPT);
  await context.close();
});
