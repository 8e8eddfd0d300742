// The web console in a real browser (Debian's chromium, driven by playwright-core): the
// public pages in Chinese and English, then every role of the demo world signing in, finding
// its own work on its home page, doing it through the console's forms, and signing out. Fails on any browser console error (a
// refused script or style under the CSP shows as one) and on any failed expectation; saves a
// PNG of each main page.
//
//   NODE_PATH=$(scripts/node-env) node scripts/console-check.cjs BASE_URL SCREENSHOT_DIR [PART]
const { chromium } = require("playwright-core");
const crypto = require("crypto");
const path = require("path");

// PART: "public", a role (reporter, analyst, reviewer, responder, verifier, auditor), "admin"
// (a provincial administration registers a member, invites a person, who signs in with a
// second factor) or "all".
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
if (part !== "all" && part !== "public" && part !== "admin" && roles.length === 0) throw new Error(`no part ${part}`);

// RFC 6238 TOTP (HMAC-SHA1, 30 s, 6 digits) from a base32 secret, as an authenticator app.
function totp(base32, ahead = 0) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const c of base32.replace(/=+$/, "")) bits += alphabet.indexOf(c).toString(2).padStart(5, "0");
  const bytes = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) bytes.push(parseInt(bits.slice(i, i + 8), 2));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 1000 / 30) + ahead));
  const h = crypto.createHmac("sha1", Buffer.from(bytes)).update(counter).digest();
  const off = h[h.length - 1] & 0x0f;
  const bin = ((h[off] & 0x7f) << 24) | (h[off + 1] << 16) | (h[off + 2] << 8) | h[off + 3];
  return String(bin % 1000000).padStart(6, "0");
}

// Guangdong's administration registers a member from the console, invites its first person
// by one-time link; that person sets a password and a second factor and signs in with both.
async function administer(page) {
  await page.goto(base + "/console/lang/en");
  await page.goto(base + "/console/login");
  await page.fill("input[name=username]", "admin@ca-guangdong");
  await page.fill("input[name=password]", PASSWORD);
  await page.click("form.stack button");
  await page.waitForURL(base + "/console/");
  await page.click("header nav a[href='/console/organisations']");
  await page.fill("#register input[name=slug]", "gz-browser");
  await page.fill("#register input[name=name]", "广州浏览器科技有限公司");
  await page.selectOption("#register select[name=type]", "service_provider");
  await page.selectOption("#register select[name=province]", "44");
  await page.fill("#register input[name=department]", "安全部");
  await page.fill("#register input[name=rp_name]", "李四");
  await page.fill("#register input[name=rp_phone]", "+862055501111");
  await page.fill("#register input[name=cp_name]", "王五");
  await page.fill("#register input[name=cp_email]", "soc@gz-browser.example.cn");
  await page.click("#register button");
  await page.waitForURL(/\/console\/organisations\/gz-browser\?done=1$/);
  await expectText(page, "#contacts", "李四");
  await shot(page, "organisation-admin");
  await page.click("a.button[href$='/people']");
  await page.fill("#invite input[name=name]", "zhao.liu@gz-browser");
  await page.fill("#invite input[name=display_name]", "赵六");
  await page.check("#invite input[name=role][value=reporter]");
  await page.check("#invite input[name=role][value=admin]");
  await page.click("#invite button");
  await expectText(page, "#shown", "zhao.liu@gz-browser");
  const link = (await page.innerText("#secret")).trim();
  if (!link.startsWith("/console/welcome/")) fail(`admin: the invitation is ${link}`);
  await shot(page, "people-admin");
  await page.click("header form button");
  // The invited person: a password and a second factor from the link.
  await page.goto(base + link);
  const secret = (await page.innerText("#totp-secret")).trim();
  if (!(await page.innerText("#totp-uri")).startsWith("otpauth://totp/")) fail("welcome: no otpauth URI");
  await page.fill("input[name=password]", "a person's own passphrase");
  await page.fill("input[name=again]", "a person's own passphrase");
  await page.fill("input[name=code]", totp(secret));
  await shot(page, "welcome-invited");
  await page.click("form.stack button");
  await page.waitForURL(/\/console\/login\?welcome=1$/);
  // The link works once.
  const again = await page.goto(base + link);
  if (again.status() !== 404) fail(`welcome: a used link answers ${again.status()}`);
  // The browser reports that 404 as an error: it was the point.
  for (let i = errors.length - 1; i >= 0; i--) if (errors[i].includes("/console/welcome/") && errors[i].includes("404")) errors.splice(i, 1);
  // Without the code the password is not enough; with it, signed in.
  await page.goto(base + "/console/login");
  await page.fill("input[name=username]", "zhao.liu@gz-browser");
  await page.fill("input[name=password]", "a person's own passphrase");
  await page.click("form.stack button");
  await expectText(page, ".error", "Wrong user name or password");
  // The code used to enrol is good once: the app's next code (a step of clock drift is
  // allowed) signs in.
  await page.fill("input[name=username]", "zhao.liu@gz-browser");
  await page.fill("input[name=password]", "a person's own passphrase");
  await page.fill("input[name=code]", totp(secret, 1));
  await page.click("form.stack button");
  await page.waitForURL(base + "/console/");
  await expectText(page, ".user", "zhao.liu@gz-browser");
  await page.click("header .user a");
  await expectText(page, "#second-factor", "You sign in with a second factor.");
  await page.click("header form button");
}

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

    if (part === "all" || part === "admin") await administer(page);

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
  console.log(`console-check ${part}: ${roles.length} roles signed in, did their work and signed out${part === "all" || part === "admin" ? ", an administrator registered a member and invited a person who signed in with a second factor" : ""}; no browser errors`);
})().catch((e) => {
  console.error("console-check: " + e.message);
  process.exit(1);
});
