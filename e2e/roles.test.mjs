// Members and roles pages: owners see the controls and use them; members without
// the permission see the same data without controls.
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
  server.createOperator("carl@example.com", PASSWORD);
  const ada = await signInApi(server.base, "ada@example.com", PASSWORD);
  await ada.post("/api/v1/orgs", { slug: "acme", name: "Acme" });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function signIn(email) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signInThroughPage(page, server.base, email, PASSWORD);
  return { context, page };
}

test("an owner creates a custom role and gives it to a member", async () => {
  const { context, page } = await signIn("ada@example.com");
  const errors = watchForErrors(page);
  await page.click("a:has-text('Roles')");
  await page.waitForSelector("[data-testid=role-matrix]");
  await page.fill("#role-name", "reviewer");
  await page.check("[data-testid=role-form] input[value='controls:read']");
  await page.check("[data-testid=role-form] input[value='org:read']");
  await page.click("[data-testid=role-form] button[type=submit]");
  await page.waitForSelector("[data-testid=role-matrix] th:has-text('reviewer')");
  await page.screenshot({ path: join(artifacts, "roles.png"), fullPage: true });

  // Edit it: the form shows what it grants; the change is saved against the version shown.
  await page.click("[data-testid=role-matrix] th:has-text('reviewer') [data-testid=edit-role]");
  assert.ok(await page.isChecked("[data-testid=role-form] input[value='controls:read']"));
  await page.check("[data-testid=role-form] input[value='evidence:read']");
  await page.click("[data-testid=role-form] button[type=submit]");
  await page.waitForSelector("h2:has-text('New role')");
  const roles = await (await page.request.get(`${server.base}/api/v1/orgs/acme/roles`)).json();
  const reviewer = roles.items.find((r) => r.name === "reviewer");
  assert.deepEqual(reviewer.permissions.sort(), ["controls:read", "evidence:read", "org:read"]);
  assert.equal(reviewer.version, 2);

  await page.goto(`${server.base}/orgs/acme/members`);
  const row = page.locator("tr[data-member='ada@example.com']");
  await row.locator("input[value='reviewer']").check();
  await row.locator("[data-testid=save-roles]").click();
  await page.waitForFunction(() =>
    [...document.querySelectorAll("tr[data-member='ada@example.com'] input[value='reviewer']")].some((i) => i.checked),
  );
  const me = await (await page.request.get(`${server.base}/api/v1/me`)).json();
  assert.deepEqual(me.memberships[0].roles.sort(), ["owner", "reviewer"]);
  assert.deepEqual(errors, []);
  await context.close();
});

test("a member without the permission sees no controls", async () => {
  // Carl joins acme as an auditor through an invitation accepted over the API.
  const ada = await signInApi(server.base, "ada@example.com", PASSWORD);
  await joinByInvitation(server, ada, "acme", "carl@example.com", ["auditor"], "Carl");

  const { context, page } = await signIn("carl@example.com");
  await page.goto(`${server.base}/orgs/acme/roles`);
  await page.waitForSelector("[data-testid=role-matrix]");
  assert.equal(await page.locator("[data-testid=role-form]").count(), 0);
  assert.equal(await page.locator("[data-testid=delete-role]").count(), 0);
  assert.equal(await page.locator("[data-testid=edit-role]").count(), 0);
  await page.goto(`${server.base}/orgs/acme/members`);
  // Auditors lack members:read: the page shows the server's refusal, and no controls.
  await page.waitForSelector(".notice.error:has-text('members:read')");
  assert.equal(await page.locator("[data-testid=save-roles]").count(), 0);
  await context.close();
});
