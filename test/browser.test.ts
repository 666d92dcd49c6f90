// The example app (examples/connect-web) in a real browser: Debian's Chromium driven by playwright-core,
// against `startAll` (the sandbox over HTTP, dynalite, the synthesized state machine) as `npm start` runs
// it. The app is loaded from http://localhost:<port> and calls the API at http://127.0.0.1:<port>: another
// origin, so every call also goes through CORS. Screenshots of each step land in test-artifacts/browser/.
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningAll, startAll } from "../local/start";

const CHROMIUM = "/usr/bin/chromium";
const ARTIFACTS = join(import.meta.dirname, "..", "test-artifacts", "browser");
const CHROMIUM_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
/** Bounds every wait on the page; a sync on the embedded stack takes a fraction of a second. */
const STEP_TIMEOUT_MS = 20_000;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const address = server.address();
  await new Promise<void>((done) => server.close(() => done()));
  if (!address || typeof address === "string") throw new Error("no port");
  return address.port;
}

let app: RunningAll;
let context: BrowserContext;
let profileDir: string;
let appUrl: string;
let page: Page;
let userCount = 0;

const shot = (name: string, target: Page = page) =>
  target.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });

/** A fresh user signed in through the app's development sign-in. */
async function signIn(): Promise<void> {
  userCount += 1;
  await page.goto(appUrl);
  if (await page.locator("#signed-in").isVisible()) {
    await Promise.all([page.waitForEvent("load"), page.click("#sign-out")]);
  }
  await page.fill("#user-id", `browser-${userCount}-${Date.now()}`);
  await page.click("#sign-in-button");
  await page.locator("#signed-in").waitFor();
}

async function chooseInstitution(search: string, code: string): Promise<void> {
  await page.fill("#search-name", search);
  await page.click("#search-form button[type=submit]");
  await page.click(`#institutions button[data-code="${code}"]`);
  await page.locator("#credentials-form").waitFor();
}

async function connectMxbank(password: string): Promise<void> {
  await chooseInstitution("mx bank", "mxbank");
  await page.fill('#credential-fields input[data-field="LOGIN"]', "mxuser");
  await page.fill('#credential-fields input[data-field="PASSWORD"]', password);
  await page.click("#connect-button");
}

const syncStatus = (status: string) =>
  page.locator("#sync-status", { hasText: status }).waitFor({ timeout: STEP_TIMEOUT_MS });

/** Starts OAuth in the app; returns the bank's page, opened in its own window. */
async function openBankWindow(): Promise<Page> {
  await chooseInstitution("oauth", "mx_bank_oauth");
  const [bank] = await Promise.all([context.waitForEvent("page"), page.click("#connect-button")]);
  await bank.waitForLoadState();
  return bank;
}

const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) {
  console.warn(
    `test/browser.test.ts skipped: ${CHROMIUM} not found (apt-get install chromium; CI installs it)`,
  );
}

describe.skipIf(!hasChromium)(
  `example app in Chromium (skipped when ${CHROMIUM} is absent; .ci/run installs it)`,
  () => {
    beforeAll(async () => {
      await mkdir(ARTIFACTS, { recursive: true });
      const port = await freePort();
      app = await startAll({
        port,
        jwtKeyFile: null,
        corsOrigins: [`http://localhost:${port}`],
        log: () => {},
        stack: { sandbox: { aggregationMs: 30 }, waitScale: 0.002 },
      });
      appUrl = `http://localhost:${port}/?api=${encodeURIComponent(app.apiUrl)}`;
      profileDir = await mkdtemp(join(tmpdir(), "chromium-profile-"));
      context = await chromium.launchPersistentContext(profileDir, {
        executablePath: CHROMIUM,
        headless: true,
        args: CHROMIUM_FLAGS,
        viewport: { width: 1000, height: 800 },
      });
      page = context.pages()[0] ?? (await context.newPage());
      page.setDefaultTimeout(STEP_TIMEOUT_MS);
      page.on("dialog", (dialog) => void dialog.accept());
    });

    afterAll(async () => {
      await context?.close();
      await app?.close();
      if (profileDir) await rm(profileDir, { recursive: true, force: true });
    });

    it("connects a credential member and pages through its transactions", async () => {
      // Prepare
      await signIn();
      await shot("01-signed-in");

      // Act
      await connectMxbank("password");
      await syncStatus("SYNCED");
      await shot("02-credential-synced");
      await page.click("#members tr[data-member] button.accounts");
      await page.click("#accounts button[data-account]");
      const rows = page.locator("#transactions tbody tr");
      await rows.first().waitFor();
      const firstPage = await rows.count();
      await page.click("#more-transactions");
      await expect.poll(() => rows.count()).toBeGreaterThan(firstPage);
      await shot("03-transactions");

      // Assess
      expect(firstPage).toBe(25);
      await expect(page.locator("#members tr[data-member] td").nth(1).textContent()).resolves.toContain(
        "SYNCED",
      );
      await expect(page.locator("#error").isHidden()).resolves.toBe(true);
    });

    it.each([
      ["challenge", "TEXT"],
      ["token", "TOKEN"],
      ["image", "IMAGE_DATA"],
      ["options", "OPTIONS"],
      ["image_options", "IMAGE_OPTIONS"],
    ])("answers a %s MFA prompt (%s) and the sync completes", async (password, type) => {
      // Prepare
      await signIn();
      await connectMxbank(password);
      const prompt = page.locator(`#mfa-prompts [data-type="${type}"]`);
      await prompt.waitFor();
      await shot(`04-mfa-${type}`);

      // Act
      if (type === "OPTIONS" || type === "IMAGE_OPTIONS")
        await prompt.locator('input[value="correct"]').check();
      else await prompt.locator("input").fill("correct");
      await page.click("#mfa-submit");

      // Assess
      await syncStatus("SYNCED");
    });

    it("answers two MFA rounds (where to send the code, then the code)", async () => {
      // Prepare
      await signIn();
      await connectMxbank("multi");
      await page.locator('#mfa-prompts [data-type="OPTIONS"]').waitFor();

      // Act
      await page.locator('#mfa-prompts input[value="PHONE_2"]').check();
      await page.click("#mfa-submit");
      const code = page.locator('#mfa-prompts label[data-type="TEXT"] input');
      await code.waitFor();
      await shot("05-mfa-second-round");
      await code.fill("correct");
      await page.click("#mfa-submit");

      // Assess
      await syncStatus("SYNCED");
    });

    it("connects an OAuth member: the bank's window returns to the app, which watches the sync", async () => {
      // Prepare
      await signIn();
      const bank = await openBankWindow();
      await shot("06-oauth-bank-page", bank);

      // Act
      await bank.click("#authorize");

      // Assess
      await syncStatus("SYNCED");
      await shot("07-oauth-synced");
      await expect(page.locator("#members tr[data-member] .badge").textContent()).resolves.toBe("OAuth");
    });

    it("reconnects a denied OAuth member through a new bank window, and shows its sync history", async () => {
      // Prepare
      await signIn();
      const denied = await openBankWindow();
      await denied.click("#deny");
      await syncStatus("NEEDS_USER");
      const reconnect = page.locator("#members tr[data-member] button.reconnect");

      // Act
      const [bank] = await Promise.all([context.waitForEvent("page"), reconnect.click()]);
      await bank.waitForLoadState();
      await bank.click("#authorize");
      await syncStatus("SYNCED");
      await page.click("#members tr[data-member] button.history");
      const runs = page.locator("#history tbody tr");
      await runs.first().waitFor();
      await shot("09-reconnected-history");

      // Assess
      await expect(reconnect.count()).resolves.toBe(0);
      const firstRun = await runs.first().locator("td").allTextContents();
      // A member that never synced counts its first good run as "oauth" (the callback's choice), else "reconnect".
      expect(["oauth", "reconnect"]).toContain(firstRun[0]);
      expect(firstRun[2]).toMatch(/^SYNCED/);
    });

    it("shows a denied OAuth member as needing the user, and deletes it", async () => {
      // Prepare
      await signIn();
      const bank = await openBankWindow();

      // Act
      await bank.click("#deny");
      await page.locator("#error", { hasText: "DENIED" }).waitFor();
      await syncStatus("NEEDS_USER");
      await page.locator("#members tr[data-member] button.reconnect").waitFor();
      await shot("08-oauth-denied");
      await page.click("#members tr[data-member] button.delete");

      // Assess
      // DELETE answers 202 (the row reads "Deleting…"); the row goes once the background purge ended.
      await expect.poll(() => page.locator("#members tr[data-member]").count(), { timeout: 15_000 }).toBe(0);
      expect(await app.stack.stores.members.listMembers(await currentUser())).toEqual([]);
    });

    it("renders the API reference at /docs, offline", async () => {
      // Act
      await page.goto(`${app.apiUrl}/docs`);
      await page.locator(".swagger-ui .opblock").first().waitFor();
      await shot("10-docs");

      // Assess
      await expect(page.locator(".swagger-ui .title").textContent()).resolves.toContain("Connect API");
      expect(await page.locator(".swagger-ui .opblock").count()).toBeGreaterThan(10);
    });
  },
);

/** The signed-in user's id, as the app keeps it. */
async function currentUser(): Promise<string> {
  return (await page.locator("#signed-in-user").textContent()) ?? "";
}
