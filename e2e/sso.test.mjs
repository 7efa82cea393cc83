// Signing in through an org's IdP in Chromium: the sign-in page asks for the
// email, sees the domain uses SSO, and sends the browser through the real
// OpenID provider and back, signed in. The admin's SSO page shows the settings,
// tests the connection and marks members who came through SSO.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

import { signInApi } from "./lib/api.mjs";
import { launchChromium, signInThroughPage, watchForErrors } from "./lib/browser.mjs";
import { startAttest } from "./lib/server.mjs";
import { startIdp } from "./lib/test-idp.mjs";

const artifacts = join(dirname(fileURLToPath(import.meta.url)), "artifacts");
const PASSWORD = "a quiet violet harbour";
let server;
let idp;
let browser;

before(async () => {
  server = await startAttest();
  idp = await startIdp(server.base, [{ client_id: "acme", client_secret: "acme-client-secret-0123456789" }]);
  server.createOperator("ada@example.com", PASSWORD);
  const ada = await signInApi(server.base, "ada@example.com", PASSWORD);
  await ada.post("/api/v1/orgs", { slug: "acme", name: "Acme" });
  const saved = await ada.put("/api/v1/orgs/acme/sso", {
    enabled: true,
    issuer: idp.issuer,
    client_id: "acme",
    client_secret: "acme-client-secret-0123456789",
    email_domains: ["acme.test"],
    jit_provisioning: true,
    default_role: "contributor",
  });
  assert.equal(saved.status, 200, JSON.stringify(saved.body));
  // Ada, an operator, vouches for the domain (the API tests prove one by DNS).
  const verified = await ada.post("/api/v1/orgs/acme/sso/domains/acme.test/verify", { method: "operator" });
  assert.equal(verified.status, 200, JSON.stringify(verified.body));
  await idp.addAccount("bob-sub", "bob@acme.test");
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  idp?.stop();
  await server?.stop();
});

test("an email in an SSO domain signs in through the org's identity provider", async () => {
  await idp.nextLogin("bob-sub");
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = watchForErrors(page);
  await page.goto(`${server.base}/sign-in`);
  await page.waitForSelector("html[data-hydrated='true']");
  await page.fill("#email", "bob@acme.test");
  await page.waitForSelector("[data-testid=sso-notice]");
  assert.equal(await page.isVisible("#password"), false, "no password for an SSO domain");
  await page.click("button:has-text('Continue with SSO')");
  await page.waitForURL(`${server.base}/dashboard`);
  await page.waitForSelector("[data-testid=dashboard-title]:has-text('User bob-sub')");
  await page.screenshot({ path: join(artifacts, "sso-signed-in.png"), fullPage: true });
  assert.deepEqual(errors, []);
  await context.close();
});

test("a refused SSO sign-in lands on the sign-in page with the reason", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${server.base}/auth/sso/callback?state=forged&code=x`);
  await page.waitForURL(`${server.base}/sign-in?sso_error=state_invalid`);
  await page.waitForSelector("html[data-hydrated='true']");
  const alert = await page.textContent("[role=alert]");
  assert.match(alert, /expired or was already used/);
  await context.close();
});

test("an org admin sees the SSO settings, tests the connection and sees SSO members", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = watchForErrors(page);
  await signInThroughPage(page, server.base, "ada@example.com", PASSWORD);
  await page.click("a:has-text('SSO')");
  await page.waitForSelector("[data-testid=sso-form]");
  // The settings arrive after the form: wait for them rather than race them.
  await page.waitForFunction(() => document.querySelector("[data-testid=redirect-uri]")?.textContent !== "");
  assert.equal(await page.textContent("[data-testid=redirect-uri]"), `${server.base}/auth/sso/callback`);
  await page.waitForFunction(() => document.querySelector("#sso-issuer")?.value !== "");
  assert.equal(await page.inputValue("#sso-issuer"), idp.issuer);
  assert.equal(await page.inputValue("#sso-client-secret"), "", "the secret never comes back");
  await page.click("[data-testid=sso-test]");
  await page.waitForSelector("[data-testid=sso-test-result]:has-text('Discovery works')");
  await page.fill("#sso-domains", "acme.test, acme-corp.test");
  await page.click("[data-testid=sso-form] button[type=submit]");
  await page.waitForSelector("[data-testid=sso-save-result]:has-text('Saved.')");
  await page.screenshot({ path: join(artifacts, "sso-settings.png"), fullPage: true });

  await page.goto(`${server.base}/orgs/acme/members`);
  await page.waitForSelector("tr[data-member='bob@acme.test'] [data-testid=sso-member]");
  assert.equal(await page.locator("tr[data-member='ada@example.com'] [data-testid=sso-member]").count(), 0);
  assert.deepEqual(errors, []);
  await context.close();
});
