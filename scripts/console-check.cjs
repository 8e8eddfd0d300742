// The web console in a real browser (Debian's chromium, driven by playwright-core): the
// public pages in Chinese and English, then every role of the demo world signing in, finding
// its own work on its home page, doing it through the console's forms, and signing out. Fails on any browser console error (a
// refused script or style under the CSP shows as one) and on any failed expectation; saves a
// PNG of each main page.
//
//   NODE_PATH=$(scripts/node-env) node scripts/console-check.cjs BASE_URL SCREENSHOT_DIR [PART]
const { chromium } = require("playwright-core");
const path = require("path");

// PART: "public", a role (reporter, analyst, reviewer, responder, verifier, auditor) or "all".
const [base, shots, part = "all"] = process.argv.slice(2);
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

// Each role's main flow, from its home page. Forms are sent as a person would send them.
const WORK = {
  // Paste values, check them (the bad one is marked), correct, file: the case page follows.
  reporter: async (page) => {
    await page.click("#my-reports a.button");
    await page.selectOption("select[name=subtype]", "malicious_resource/phishing_site");
    await page.fill("input[name=title]", "Browser check: phishing shop");
    await page.fill("textarea[name=description]", "Reported from the console");
    await page.fill("textarea[name=indicators]", "Browser-Check.example.cn\nhttp://browser-check.example.cn/pay\n300.1.2.3\n");
    // Live: the values are read as they are typed (htmx), before any button.
    await page.waitForSelector("#checked tr.alert");
    await expectText(page, "#checked", "browser-check.example.cn");
    // Without script the "check" button does the same.
    await page.click("button[value=check]");
    await expectText(page, "#checked", "browser-check.example.cn");
    if ((await page.locator("#checked tr.alert").count()) !== 1) fail("reporter: the bad value is not marked");
    await shot(page, "report-check");
    await page.fill("textarea[name=indicators]", "browser-check.example.cn\nhttp://browser-check.example.cn/pay\n");
    await page.click("button[value=submit]");
    await page.waitForURL(/\/console\/cases\/[0-9a-f-]+\?done=1$/);
    await expectText(page, "#indicators", "browser-check.example.cn");
    await shot(page, "case-reporter");
  },
  // Open the first case to determine and record a determination.
  analyst: async (page) => {
    await page.click("#triage tbody a");
    await page.waitForSelector("#determine");
    // Attribution from the demo registry: the .cn registry at least.
    await expectText(page, "#indicators", "cnnic");
    await shot(page, "case-analyst");
    await page.selectOption("select[name=verdict]", "confirmed");
    await page.selectOption("select[name=severity]", "high");
    await page.fill("textarea[name=rationale]", "Confirmed from the browser");
    await page.click("#determine button");
    await page.waitForSelector("p.ok");
    await expectText(page, "#determination", "Confirmed from the browser");
  },
  // Approve the first determined case with the measures the form proposes, sent where the
  // registry routes them.
  reviewer: async (page) => {
    await page.click("#decisions tbody a");
    await page.waitForSelector("#decide");
    await shot(page, "case-reviewer");
    await page.selectOption("select[name=outcome]", "approved");
    await page.fill("textarea[name=reasons]", "Approved from the browser");
    await page.click("#decide button");
    await page.waitForSelector("p.ok");
    await expectText(page, "#decision", "Approved from the browser");
    if ((await page.locator("#notices tbody tr").count()) < 1) fail("reviewer: the decision issued no notice");
    await shot(page, "case-decided");
    // Then the appeal awaiting the authority's answer, with its working-day countdown.
    await page.goto(base + "/console/");
    await expectText(page, "#appeals", "working days");
    await page.click("#appeals tbody a");
    await page.waitForSelector("#answer");
    await page.selectOption("select[name=outcome]", "upheld");
    await page.fill("textarea[name=reasons]", "Upheld from the browser: the address still serves the kit");
    await shot(page, "appeal-reviewer");
    await page.click("#answer button");
    await page.waitForSelector("p.ok");
    await expectText(page, "#appeal", "Upheld from the browser");
  },
  // The trail, with the chain verified.
  auditor: async (page) => {
    await page.click("#audit a.button");
    await expectText(page, "#chain", "intact");
    if ((await page.locator("#entries tbody tr").count()) < 10) fail("auditor: the trail is nearly empty");
    await shot(page, "audit-trail", false);
  },
  // The first notice that awaits a report back: acknowledge it if needed, then report back.
  responder: async (page) => {
    const links = await page.locator("#inbox tbody a").evaluateAll((as) => as.map((a) => a.href));
    for (const href of links) {
      await page.goto(href);
      if ((await page.locator("#feedback").count()) === 0) continue;
      await expectText(page, "#notice", "SHA-256");
      await shot(page, "notice-responder");
      if ((await page.locator("#acknowledge").count()) === 1) {
        await page.click("#acknowledge button");
        await page.waitForSelector("p.ok");
      }
      await page.selectOption("select[name=outcome]", "done");
      await page.fill("textarea[name=actions_taken]", "Blocked at our resolvers from the browser");
      await page.click("#feedback button");
      await page.waitForSelector("p.ok");
      if ((await page.locator("#feedback").count()) !== 0) fail("responder: the report-back form is still offered");
      return;
    }
    fail("responder: no notice in the inbox awaits a report back");
  },
  verifier: async (page) => {
    await page.click("#verification tbody a");
    await page.waitForSelector("#verify");
    await page.selectOption("select[name=result]", "passed");
    await page.fill("textarea[name=notes]", "Checked from the browser");
    await page.click("#verify button");
    await page.waitForSelector("p.ok");
    await shot(page, "notice-verifier");
  },
};

const roles = ROLES.filter(([name]) => part === "all" || name.split("@")[0] === part);
if (part !== "all" && part !== "public" && roles.length === 0) throw new Error(`no part ${part}`);

const errors = [];
function fail(msg) {
  throw new Error(msg);
}

async function expectText(page, selector, want) {
  const got = (await page.locator(selector).first().innerText()).trim();
  if (!got.includes(want)) fail(`${page.url()}: ${selector} says ${JSON.stringify(got)}, not ${JSON.stringify(want)}`);
}

async function shot(page, name, fullPage = true) {
  await page.screenshot({ path: path.join(shots, name + ".png"), fullPage });
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

    if (part === "all" || part === "public") {
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
      // "How do I appeal": the form comes with the reference filled in.
      await page.click("a.button[href^='/console/appeal']");
      if (!(await page.inputValue("input[name=reference]")).startsWith("WD-")) fail("the appeal form lacks the reference");
      await page.fill("input[name=name]", "网店经营者");
      await page.fill("input[name=contact]", "owner@example.cn");
      await page.fill("textarea[name=grounds]", "该域名已清理，请求解除屏蔽。");
      await page.click("form.stack button");
      await expectText(page, "#filed", "WD-");
      await shot(page, "public-appeal-zh");
      await page.goto(base + "/");
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
    }

    // The roles work in English (the Chinese catalog is checked with the responder below).
    await page.goto(base + "/console/lang/en");
    for (const [name, section] of roles) {
      await page.goto(base + "/console/login");
      await page.fill("input[name=username]", name);
      await page.fill("input[name=password]", PASSWORD);
      await page.click("form.stack button");
      await page.waitForURL(base + "/console/");
      await expectText(page, ".user", name);
      if ((await page.locator(`section#${section}`).count()) !== 1) fail(`${name}: no ${section} section on the home page`);
      await shot(page, "home-" + name.split("@")[0]);
      const work = WORK[name.split("@")[0]];
      if (work) await work(page);
      // The header's search box answers "is this listed" for members, with who enforces it.
      await page.fill("header form.search input", "fake-shop.example.cn");
      await page.press("header form.search input", "Enter");
      await expectText(page, "#verdict", "Listed for blocking");
      await expectText(page, "main table", "china-telecom");
      // Every role's dashboard draws its charts (inline SVG, no script).
      await page.click("header nav a[href='/console/dashboard']");
      if ((await page.locator("#opened svg, #opened p.none").count()) !== 1) fail(`${name}: no opened-cases chart`);
      if (name.startsWith("reviewer")) await shot(page, "dashboard-reviewer");
      await page.goto(base + "/console/");
      await page.click("header form button");
      await page.waitForURL(base + "/console/");
      if ((await page.locator("header a.button").count()) !== 1) fail(`${name}: still signed in after signing out`);
    }

    // The same in Chinese for one role: every string comes from the catalog.
    if (part === "all" || part === "responder") {
      await page.click("a[hreflang=zh-CN]");
      await page.goto(base + "/console/login");
      await page.fill("input[name=username]", "responder@china-telecom");
      await page.fill("input[name=password]", PASSWORD);
      await page.click("form.stack button");
      await page.waitForURL(base + "/console/");
      await expectText(page, "#inbox h3", "待处理通知");
      await shot(page, "home-responder-zh");
    }
  } finally {
    await browser.close();
  }
  if (errors.length) fail("browser errors:\n" + errors.join("\n"));
  console.log(`console-check ${part}: ${roles.length} roles signed in, did their work and signed out; no browser errors`);
})().catch((e) => {
  console.error("console-check: " + e.message);
  process.exit(1);
});
