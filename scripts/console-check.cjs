// The web console in a real browser (Debian's chromium, driven by playwright-core): the
// public pages in Chinese and English, then every role of the demo world signing in, finding
// its own work on its home page, and signing out. Fails on any browser console error (a
// refused script or style under the CSP shows as one) and on any failed expectation; saves a
// PNG of each main page.
//
//   NODE_PATH=$(scripts/node-env) node scripts/console-check.cjs BASE_URL SCREENSHOT_DIR
const { chromium } = require("playwright-core");
const path = require("path");

const [base, shots] = process.argv.slice(2);
const PASSWORD = "warden-demo-2026";
// Sign-in name → the home page section that holds that role's work.
const ROLES = [
  ["reporter@secco-alpha", "my-reports"],
  ["analyst@cncert", "triage"],
  ["reviewer@ca-guangdong", "decisions"],
  ["responder@china-telecom", "inbox"],
  ["verifier@cncert", "verification"],
  ["auditor@miit", "audit"],
];

const errors = [];
function fail(msg) {
  throw new Error(msg);
}

async function expectText(page, selector, want) {
  const got = (await page.locator(selector).first().innerText()).trim();
  if (!got.includes(want)) fail(`${page.url()}: ${selector} says ${JSON.stringify(got)}, not ${JSON.stringify(want)}`);
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(shots, name + ".png"), fullPage: true });
}

(async () => {
  const browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox"],
  });
  try {
    const context = await browser.newContext({ viewport: { width: 1200, height: 800 } });
    const page = await context.newPage();
    page.on("console", (m) => {
      if (m.type() === "error") errors.push(`${page.url()}: console: ${m.text()}`);
    });
    page.on("pageerror", (e) => errors.push(`${page.url()}: ${e.message}`));

    // The public: Chinese by default, the lookup answers with the reference to appeal with.
    await page.goto(base + "/");
    await expectText(page, "h1", "公共互联网网络安全威胁监测与处置平台");
    if ((await page.getAttribute("html", "lang")) !== "zh-CN") fail("the default language is not zh-CN");
    await shot(page, "public-home-zh");
    await page.fill("input[name=value]", "fake-shop.example.cn");
    await page.click("form.row button");
    await expectText(page, "#verdict", "已列入处置名单");
    await expectText(page, "table", "WD-");
    await shot(page, "lookup-zh");
    await page.fill("input[name=value]", "never-blocked.example.org");
    await page.click("form.row button");
    await expectText(page, "#verdict", "未列入处置名单");
    // English by switch, kept across pages.
    await page.click("a[hreflang=en]");
    await expectText(page, "h1", "Public-internet cyber-threat monitoring and handling");
    await page.goto(base + "/console/lookup?value=fake-shop.example.cn");
    await expectText(page, "#verdict", "Listed for blocking");
    await shot(page, "lookup-en");

    // A wrong password is refused without saying which part was wrong.
    await page.goto(base + "/console/login");
    await page.fill("input[name=username]", "reviewer@ca-guangdong");
    await page.fill("input[name=password]", "not the password");
    await page.click("form.stack button");
    await expectText(page, ".error", "Wrong user name or password");
    await shot(page, "sign-in-refused-en");

    for (const [name, section] of ROLES) {
      await page.goto(base + "/console/login");
      await page.fill("input[name=username]", name);
      await page.fill("input[name=password]", PASSWORD);
      await page.click("form.stack button");
      await page.waitForURL(base + "/console/");
      await expectText(page, ".user", name);
      if ((await page.locator(`section#${section}`).count()) !== 1) fail(`${name}: no ${section} section on the home page`);
      await shot(page, "home-" + name.split("@")[0]);
      await page.click("header form button");
      await page.waitForURL(base + "/console/");
      if ((await page.locator("header a.button").count()) !== 1) fail(`${name}: still signed in after signing out`);
    }

    // The same in Chinese for one role: every string comes from the catalog.
    await page.click("a[hreflang=zh-CN]");
    await page.goto(base + "/console/login");
    await page.fill("input[name=username]", "responder@china-telecom");
    await page.fill("input[name=password]", PASSWORD);
    await page.click("form.stack button");
    await page.waitForURL(base + "/console/");
    await expectText(page, "#inbox h3", "待处理通知");
    await shot(page, "home-responder-zh");
  } finally {
    await browser.close();
  }
  if (errors.length) fail("browser errors:\n" + errors.join("\n"));
  console.log(`console-check: ${ROLES.length} roles signed in and out; no browser errors`);
})().catch((e) => {
  console.error("console-check: " + e.message);
  process.exit(1);
});
