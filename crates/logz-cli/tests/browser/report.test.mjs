// Browser test of `logz report`: load the page in headless Chromium (Debian's `chromium`, driven
// by playwright-core over CDP), move the sliders, and check the interactive graphical solution
// against the library (`logz meanfield --json`).
//
//   node report.test.mjs PAGE.html LOGZ_BINARY SCREENSHOT.png
//
// It FAILS — never skips — when the browser cannot start. Ends with a cargo-style
// "test result: ok. N passed; N failed" line.
import { chromium } from "playwright-core";
import { execFileSync } from "node:child_process";
import { mkdtempSync, existsSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

const [page_path, logz, shot] = process.argv.slice(2);
if (!page_path || !logz || !shot) {
  console.error("usage: node report.test.mjs PAGE.html LOGZ_BINARY SCREENSHOT.png");
  process.exit(2);
}
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
let passed = 0, failed = 0;
function check(name, ok, detail) {
  if (ok) { passed++; console.log(`ok   ${name}`); }
  else { failed++; console.log(`FAIL ${name}${detail ? ": " + detail : ""}`); }
}

// The library's roots for (T, H, z, J), from `logz meanfield --json`.
function libraryRoots(t, h, z, j) {
  const out = execFileSync(logz, ["meanfield", "--json", "--temperature", String(t), "--field", String(h),
    "--z", String(z), "--coupling", String(j), "--out", mkdtempSync(join(tmpdir(), "logz-mf-"))], { encoding: "utf8" });
  return JSON.parse(out)[0].roots.map((r) => r.m);
}

let browser;
try {
  browser = await chromium.launch({
    executablePath,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
      "--disable-dev-shm-usage"],
  });
} catch (e) {
  console.error(`the browser could not start (${executablePath}): ${e.message.split("\n")[0]}`);
  console.log("test result: FAILED. 0 passed; 1 failed (browser: logz report)");
  process.exit(1);
}

try {
  const ctx = await browser.newContext({ viewport: { width: 1100, height: 1400 } });
  const page = await ctx.newPage();
  const errors = [];
  const requests = [];
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("request", (r) => { if (!r.url().startsWith("file:") && !r.url().startsWith("data:")) requests.push(r.url()); });
  await page.goto(pathToFileURL(resolve(page_path)).href, { waitUntil: "load" });

  // Sets the four sliders and fires one input event (on the temperature slider).
  async function setAll(t, h, z, j) {
    return page.evaluate(([t, h, z, j]) => {
      const set = (id, v) => { document.getElementById(id).value = String(v); };
      set("field", h); set("coordination", z); set("coupling", j); set("temperature", t);
      document.getElementById("temperature").dispatchEvent(new Event("input", { bubbles: true }));
      const fig = document.getElementById("graphical-solution");
      return { roots: JSON.parse(fig.getAttribute("data-roots")), text: document.getElementById("roots-text").textContent,
        ms: window.__logzRedrawMs };
    }, [t, h, z, j]);
  }

  for (const id of ["temperature", "field", "coordination", "coupling"]) {
    const type = await page.getAttribute(`#${id}`, "type");
    check(`slider #${id} is a range input`, type === "range", type);
  }
  const before = JSON.parse(await page.getAttribute("#graphical-solution", "data-roots"));
  check("the page starts above T_c with the single root 0", before.length === 1 && before[0] === 0, JSON.stringify(before));

  // The essay's figure: T = 3, z = 4, J = 1, H = 0.
  await page.fill("#temperature", "3");
  await page.dispatchEvent("#temperature", "input");
  const roots = JSON.parse(await page.getAttribute("#graphical-solution", "data-roots"));
  const want = [-0.775516313851923, 0, 0.775516313851923];
  check("T = 3 gives three roots", roots.length === 3, JSON.stringify(roots));
  check("T = 3 roots are ±0.775516313851923 and 0 (1e-12)",
    roots.length === 3 && roots.every((r, k) => Math.abs(r - want[k]) < 1e-12), JSON.stringify(roots));
  const text = await page.textContent("#roots-text");
  check("the roots are shown as text", text.includes("-0.775516313851923") && text.includes(", 0, ")
    && text.includes("0.775516313851923"), text);
  const rows = await page.$$eval("#roots-body tr", (trs) => trs.map((tr) => tr.textContent));
  check("each root is marked stable/unstable with its bound", rows.length === 3 && rows[0].includes("stable")
    && rows[1].includes("unstable") && rows.every((r) => r.includes("lower_bound")), JSON.stringify(rows));
  const circles = await page.$$eval("#gs-marks circle", (cs) => cs.map((c) => c.getAttribute("class")));
  check("three root markers drawn (two stable, one unstable)", JSON.stringify(circles) ===
    JSON.stringify(["root stable", "root unstable", "root stable"]), JSON.stringify(circles));

  // The page's JavaScript root finder against the library, on several (T, H, z, J).
  const cases = [[3, 0, 4, 1], [1.5, 0.1, 4, 1], [2.2, -0.05, 3, 0.8], [5, 0, 4, 1], [0.7, 0.3, 6, -0.5],
    [3.99, 0, 4, 1], [1, -0.2, 2, 1.5], [6, 0.5, 8, 1]];
  let worst = 0;
  for (const [t, h, z, j] of cases) {
    const lib = libraryRoots(t, h, z, j);
    const got = await setAll(t, h, z, j);
    const same = got.roots.length === lib.length && got.roots.every((r, k) => Math.abs(r - lib[k]) <= 1e-9);
    got.roots.forEach((r, k) => { if (k < lib.length) worst = Math.max(worst, Math.abs(r - lib[k])); });
    check(`roots at T=${t} H=${h} z=${z} J=${j} equal logz meanfield's (1e-9)`, same,
      `page ${JSON.stringify(got.roots)} library ${JSON.stringify(lib)}`);
  }
  console.log(`largest |page − library| root difference: ${worst.toExponential(2)}`);

  // Redraw time: the median of 40 slider moves, measured inside the page (performance.now()).
  const times = await page.evaluate(() => {
    const el = document.getElementById("temperature");
    const out = [];
    for (let k = 0; k < 40; k++) {
      el.value = String(1 + 0.1 * k);
      el.dispatchEvent(new Event("input", { bubbles: true }));
      out.push(window.__logzRedrawMs);
    }
    return out;
  });
  times.sort((a, b) => a - b);
  const median = times[times.length >> 1], max = times[times.length - 1];
  console.log(`redraw: median ${median.toFixed(2)} ms, max ${max.toFixed(2)} ms over ${times.length} moves`);
  const p90 = times[Math.floor(times.length * 0.9)];
  check("a slider update redraws in ≤ 16 ms (median and 90th percentile)", median <= 16 && p90 <= 16,
    `median ${median} ms, p90 ${p90} ms`);

  await setAll(3, 0, 4, 1);
  await page.screenshot({ path: shot, fullPage: true });
  check("screenshot saved", existsSync(shot) && statSync(shot).size > 10000, shot);
  check("no console errors", errors.length === 0, errors.join(" | "));
  check("the page loads nothing from the network", requests.length === 0, requests.join(" "));
} catch (e) {
  check("browser session", false, e.stack || String(e));
} finally {
  await browser.close();
}
// The cargo-style line `.ci/run` adds to its totals.
console.log(`test result: ${failed === 0 ? "ok" : "FAILED"}. ${passed} passed; ${failed} failed (browser: logz report)`);
process.exit(failed === 0 ? 0 : 1);
