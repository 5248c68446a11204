// The interactive graphical solution of m = tanh(β(H + zJm)).
//
// `meanFieldRoots` is a line-by-line port of the library's root finder
// (crates/logz/src/free_energy/homogeneous.rs, `roots`): the same 20 000-interval grid of
// [−1, 1], bisection of every sign change of g(m) = tanh(β(H + zJm)) − m to an interval below
// 1e-16, the same near-tangent minima of |g| (the double root at T_c), the same de-duplication.
// The browser test checks that it returns `logz meanfield`'s roots to 1e-9.
"use strict";
(function () {
  function meanFieldRoots(z, j, h, beta) {
    var g = function (m) { return Math.tanh(beta * (h + z * j * m)) - m; };
    var refine = function (a, b) {
      var ga = g(a);
      for (var it = 0; it < 200; it++) {
        var mid = 0.5 * (a + b);
        var gm = g(mid);
        if (gm === 0) return mid;
        if ((gm > 0) === (ga > 0)) a = mid; else b = mid;
        if (b - a < 1e-16) break;
      }
      return 0.5 * (a + b);
    };
    var n = 20000;
    var xs = new Float64Array(n + 1), gs = new Float64Array(n + 1);
    for (var k = 0; k <= n; k++) { xs[k] = -1 + 2 * k / n; gs[k] = g(xs[k]); }
    var found = [];
    for (k = 0; k < n; k++) {
      if (gs[k] === 0) found.push(xs[k]);
      else if (Math.sign(gs[k]) !== Math.sign(gs[k + 1]) && gs[k + 1] !== 0) found.push(refine(xs[k], xs[k + 1]));
    }
    if (gs[n] === 0) found.push(xs[n]);
    for (k = 1; k < n; k++) {
      var a = Math.abs(gs[k]);
      if (a < Math.abs(gs[k - 1]) && a <= Math.abs(gs[k + 1]) && a < 1e-6) {
        var x = xs[k];
        if (found.every(function (r) { return Math.abs(r - x) > 2 / n; })) found.push(x);
      }
    }
    found.sort(function (p, q) { return p - q; });
    var out = [];
    for (var i = 0; i < found.length; i++) {
      if (out.length === 0 || Math.abs(found[i] - out[out.length - 1]) >= 1e-12) out.push(found[i]);
    }
    return out;
  }

  // −Σ p ln p of a spin with mean m (numeric::spin_entropy).
  function spinEntropy(m) {
    var p = 0.5 * (1 + m), q = 0.5 * (1 - m);
    var xlx = function (x) { return x <= 0 ? 0 : x * Math.log(x); };
    return -(xlx(p) + xlx(q));
  }
  // The per-spin mean-field lower bound β(zJm²/2 + Hm) + H(m) (homogeneous::bound_per_spin).
  function boundPerSpin(z, j, h, beta, m) { return beta * (0.5 * z * j * m * m + h * m) + spinEntropy(m); }

  // Shortest text that reads back as the same double, then at most 15 decimals.
  function fmt(x) {
    if (x === 0) return "0";
    var s = x.toFixed(15).replace(/0+$/, "").replace(/\.$/, "");
    return s === "-0" ? "0" : s;
  }

  var SVGNS = "http://www.w3.org/2000/svg";
  var X0 = 60, X1 = 540, Y0 = 20, Y1 = 380, LO = -1.05, HI = 1.05;
  function sx(m) { return X0 + (m - LO) / (HI - LO) * (X1 - X0); }
  function sy(v) { return Y1 - (v - LO) / (HI - LO) * (Y1 - Y0); }

  function setup() {
    var fig = document.getElementById("graphical-solution");
    if (!fig) return;
    var ids = ["temperature", "field", "coordination", "coupling"];
    var inputs = {};
    ids.forEach(function (id) { inputs[id] = document.getElementById(id); });
    var curve = document.getElementById("gs-curve");
    var marks = document.getElementById("gs-marks");
    var text = document.getElementById("roots-text");
    var body = document.getElementById("roots-body");
    var crit = document.getElementById("gs-critical");
    var timing = document.getElementById("gs-timing");

    function redraw() {
      var t0 = performance.now();
      var T = parseFloat(inputs.temperature.value), H = parseFloat(inputs.field.value);
      var z = parseFloat(inputs.coordination.value), J = parseFloat(inputs.coupling.value);
      ids.forEach(function (id) {
        var o = document.getElementById(id + "-value");
        if (o) o.textContent = inputs[id].value;
      });
      var beta = 1 / T;
      var ms = meanFieldRoots(z, J, H, beta);
      var pts = [];
      for (var k = 0; k <= 400; k++) {
        var m = -1 + 2 * k / 400;
        pts.push(sx(m).toFixed(2) + "," + sy(Math.tanh(beta * (H + z * J * m))).toFixed(2));
      }
      curve.setAttribute("points", pts.join(" "));
      var roots = ms.map(function (m) {
        return { m: m, stable: beta * z * J * (1 - m * m) < 1, bound: boundPerSpin(z, J, H, beta, m) };
      });
      var top = -Infinity;
      roots.forEach(function (r) { top = Math.max(top, r.bound); });
      var best = null;
      roots.forEach(function (r) {
        if (r.bound >= top - 1e-12 * Math.max(Math.abs(top), 1) && (best === null || r.m > best.m)) best = r;
      });
      while (marks.firstChild) marks.removeChild(marks.firstChild);
      var rows = [];
      roots.forEach(function (r) {
        var c = document.createElementNS(SVGNS, "circle");
        c.setAttribute("cx", sx(r.m).toFixed(2));
        c.setAttribute("cy", sy(r.m).toFixed(2));
        c.setAttribute("r", "7");
        c.setAttribute("class", r.stable ? "root stable" : "root unstable");
        var tip = document.createElementNS(SVGNS, "title");
        tip.textContent = "m = " + fmt(r.m) + (r.stable ? " (stable)" : " (unstable)") + ", bound ln Z/N ≥ " + r.bound.toFixed(12);
        c.appendChild(tip);
        marks.appendChild(c);
        rows.push("<tr" + (r === best ? " class=\"best\"" : "") + "><td class=\"num\">" + fmt(r.m) + "</td><td>" +
          (r.stable ? "stable" : "unstable") + "</td><td class=\"num\">" + r.bound.toFixed(12) +
          "</td><td>lower_bound</td><td>" + (r === best ? "★ equilibrium" : "") + "</td></tr>");
      });
      body.innerHTML = rows.join("");
      fig.setAttribute("data-roots", JSON.stringify(ms));
      text.textContent = "roots: " + ms.map(fmt).join(", ");
      crit.textContent = "β = " + beta.toPrecision(6) + ", βzJ = " + (beta * z * J).toPrecision(6) +
        " (mean-field T_c = zJ = " + (z * J).toPrecision(6) + ")";
      var ms2 = performance.now() - t0;
      window.__logzRedrawMs = ms2;
      fig.setAttribute("data-redraw-ms", ms2.toFixed(3));
      timing.textContent = "redrawn in " + ms2.toFixed(2) + " ms";
    }
    ids.forEach(function (id) { inputs[id].addEventListener("input", redraw); });
    window.logzMeanFieldRoots = meanFieldRoots;
    redraw();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setup);
  else setup();
})();
