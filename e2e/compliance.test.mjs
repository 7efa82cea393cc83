// The compliance journey in the console: import the starter catalog, create a
// control that meets a requirement, attach evidence, and see readiness rise.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

import { signInApi } from "./lib/api.mjs";
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
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const readiness = (page) => page.locator("tr[data-framework='Attest Baseline Security'] [data-testid=readiness]");

test("an owner imports the starter catalog, maps a control, attaches evidence and readiness rises", async () => {
  const page = await browser.newPage();
  const errors = watchForErrors(page);
  await signInThroughPage(page, server.base, "ada@example.com", PASSWORD);
  await page.click("a:has-text('Compliance')");
  await page.waitForSelector("[data-testid=import-starter]");

  await page.click("[data-testid=import-starter]");
  await page.waitForFunction(() => document.querySelector("[data-testid=readiness]")?.textContent.includes("of 21"));
  assert.equal((await readiness(page).textContent()).trim(), "0.0 % (0 of 21)");

  // A control that meets one requirement, implemented but without evidence yet.
  await page.waitForSelector("#control-requirements option");
  const mfa = await page.$eval("#control-requirements", (select) =>
    [...select.options].find((o) => o.textContent.startsWith("BSL-IAM-2 ")).value,
  );
  await page.fill("#control-title", "MFA for everyone");
  await page.selectOption("#control-status", "implemented");
  await page.selectOption("#control-requirements", [mfa]);
  await page.click("[data-testid=control-form] button[type=submit]");
  const row = page.locator("tr[data-control='MFA for everyone']");
  await row.waitFor();
  assert.equal(await row.locator("[data-testid=health]").getAttribute("data-health"), "red");
  assert.equal((await readiness(page).textContent()).trim(), "0.0 % (0 of 21)", "no evidence, no coverage");

  // Evidence makes it count.
  const control = await page.$eval("#evidence-control", (select) =>
    [...select.options].find((o) => o.textContent === "MFA for everyone").value,
  );
  await page.selectOption("#evidence-control", control);
  await page.fill("#evidence-title", "IdP policy screenshot");
  await page.fill("#evidence-note", "Every sign-in asks for a second factor.");
  await page.click("[data-testid=evidence-form] button[type=submit]");
  await page.waitForFunction(() => document.querySelector("[data-testid=readiness]")?.textContent.startsWith("4.8 %"));
  assert.equal((await readiness(page).textContent()).trim(), "4.8 % (1 of 21)");
  await page.waitForFunction(
    () => document.querySelector("tr[data-control='MFA for everyone'] [data-testid=health]")?.dataset.health === "green",
  );
  await page.screenshot({ path: join(artifacts, "compliance.png"), fullPage: true });

  // What the page shows is what the API says.
  const ada = await signInApi(server.base, "ada@example.com", PASSWORD);
  const frameworks = (await ada.get("/api/v1/orgs/acme/frameworks")).body;
  const figures = (await ada.get(`/api/v1/orgs/acme/frameworks/${frameworks.items[0].id}/readiness`)).body;
  assert.deepEqual([figures.covered, figures.percent], [1, 4.8]);
  assert.deepEqual(errors, []);
});
