// An invitation mail's link, followed in the browser, creates the account and
// joins the organization.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";

import { signInApi } from "./lib/api.mjs";
import { launchChromium, watchForErrors } from "./lib/browser.mjs";
import { mailedLink } from "./lib/mail.mjs";
import { startAttest } from "./lib/server.mjs";

const PASSWORD = "a quiet violet harbour";
let server;
let browser;

before(async () => {
  server = await startAttest();
  server.createOperator("ada@example.com", PASSWORD);
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** The accept link in the mail to `to`. */
const acceptLink = (to) => mailedLink(server, to, /https?:\/\/\S+\/invitations\/accept\?token=[\w-]+/);

test("following an invitation link creates the account and joins the org", async () => {
  const ada = await signInApi(server.base, "ada@example.com", PASSWORD);
  assert.equal((await ada.post("/api/v1/orgs", { slug: "acme", name: "Acme" })).status, 201);
  const invited = await ada.post("/api/v1/orgs/acme/invitations", { email: "newcomer@example.com", roles: ["auditor"] });
  assert.equal(invited.status, 201);

  const link = await acceptLink("newcomer@example.com");
  assert.ok(link.startsWith(server.base), link);
  const page = await browser.newPage();
  const errors = watchForErrors(page);
  await page.goto(link);
  await page.waitForSelector("html[data-hydrated='true']");
  await page.fill("#name", "Nia Newcomer");
  await page.fill("#new-password", PASSWORD);
  await page.click("button[type=submit]");
  await page.waitForSelector("h1:has-text('Welcome to Acme')");
  assert.deepEqual(errors, []);

  await page.click("a:has-text('Sign in')");
  await page.fill("#email", "newcomer@example.com");
  await page.fill("#password", PASSWORD);
  await page.click("button[type=submit]");
  await page.waitForURL(`${server.base}/dashboard`);
  await page.waitForSelector("li:has-text('Acme')");
  assert.match(await page.textContent("li:has-text('Acme')"), /auditor/);
});
