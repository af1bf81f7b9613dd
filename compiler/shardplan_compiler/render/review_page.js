"use strict";
// The review page's only script: decodes the compact data and draws one canvas per phase.
// Text from the plan or the source only ever reaches the page through textContent.
(function () {
  var started = performance.now();
  var DATA = JSON.parse(document.getElementById("page-data").textContent);
  var FRONT = 0x30;
  var COLORS = {
    u: ["#c8c8c8", "#dedede"], c: ["#e69f00", "#e69f00"], a: ["#0072b2", "#0072b2"],
    r: ["#d55e00", "#d55e00"], s: ["#56b4e9", "#0072b2"], h: ["#e69f00", "#e69f00"]
  };
  var PRIORITY = { u: 0, s: 0, h: 1, a: 2, c: 3, r: 4 };
  var STATUS_WORD = { u: "unchanged", c: "changed", a: "added", r: "removed" };
  var LANE_H = [30, 12];

  function frontDecode(coded) {
    var out = new Array(coded.length), prev = "";
    for (var i = 0; i < coded.length; i++) {
      var item = coded[i];
      prev = prev.slice(0, item.charCodeAt(0) - FRONT) + item.slice(1);
      out[i] = prev;
    }
    return out;
  }
  function deltaDecode(values, n) {
    var starts = new Float64Array(n), ends = new Float64Array(n);
    if (!values.length) return { starts: starts, ends: ends };
    var at = values[0], j = 0;
    for (var k = 1; k < values.length; k++) {
      var v = values[k];
      if (v < 0) { at = -1 - v; k++; v = values[k]; }
      starts[j] = at; ends[j] = at + v; at += v; j++;
    }
    return { starts: starts, ends: ends };
  }
  function runsDecode(runs) {
    if (!runs) return null;
    var n = runs.d.length, starts = new Float64Array(n), at = 0;
    for (var i = 0; i < n; i++) { at = i ? at + runs.d[i] : runs.d[0]; starts[i] = at; }
    return { starts: starts, keys: frontDecode(runs.k) };
  }
  // The last index with arr[index] <= x, or -1.
  function lastAtOrBefore(arr, x) {
    var lo = 0, hi = arr.length - 1, found = -1;
    while (lo <= hi) {
      var mid = (lo + hi) >> 1;
      if (arr[mid] <= x) { found = mid; lo = mid + 1; } else { hi = mid - 1; }
    }
    return found;
  }

  var scenes = runsDecode(DATA.scenes), routes = runsDecode(DATA.routes);
  var phases = DATA.phases.map(function (p, pi) {
    var lanes = p.lanes.map(function (lane) {
      var r = deltaDecode(lane.d, lane.n);
      var firstFix = {};
      (lane.f || []).forEach(function (pair) { firstFix[pair[0]] = pair[1]; });
      var sorted = true;
      for (var i = 1; i < lane.n; i++) if (r.starts[i] < r.starts[i - 1]) { sorted = false; break; }
      return { n: lane.n, starts: r.starts, ends: r.ends, keys: frontDecode(lane.k),
               last: lane.l ? frontDecode(lane.l) : null, firstFix: firstFix,
               status: lane.s || null, sorted: sorted };
    });
    return { data: p, index: pi, lanes: lanes, selected: null, canvas: null };
  });
  var dirtyAt = {};
  (DATA.dirty || []).forEach(function (d) { dirtyAt[d.p + "/" + d.lane + "/" + d.i] = d; });

  var axis = Math.max(1, DATA.axis);
  var view = { lo: 0, hi: axis };
  var isDiff = DATA.kind === "diff";

  function letterOf(phase, laneIndex, i) {
    var lane = phase.lanes[laneIndex];
    if (lane.status) return lane.status.charAt(i);
    var median = phase.data.median, size = lane.ends[i] - lane.starts[i];
    return median > 0 && size > 1.5 * median ? "h" : "s";
  }
  function idsIn(runs, start, end, cap) {
    if (!runs) return null;
    var i = Math.max(0, lastAtOrBefore(runs.starts, start)), out = [], seen = {}, total = 0;
    for (; i < runs.starts.length && runs.starts[i] < end; i++) {
      var key = runs.keys[i];
      if (!key || seen[key]) continue;
      seen[key] = true; total++;
      if (out.length < cap) out.push(key);
    }
    return { ids: out, more: total - out.length };
  }
  function plural(n, word) { return n + " " + word + (n === 1 ? "" : "s"); }
  function fmtRatio(x) { return (Math.round(x * 100) / 100).toFixed(2); }

  // The text a reader gets for one shard: on hover, on focus and in the details panel.
  function shardText(pi, laneIndex, i) {
    var phase = phases[pi], lane = phase.lanes[laneIndex];
    if (!lane || i < 0 || i >= lane.n) return "";
    var start = lane.starts[i], end = lane.ends[i], size = end - start, key = lane.keys[i];
    var out = [key];
    if (isDiff) {
      var d = dirtyAt[pi + "/" + laneIndex + "/" + i];
      var word = STATUS_WORD[lane.status.charAt(i)] || "changed";
      out.push("status: " + word + (d && d.old_key ? " (was " + d.old_key + ")" : "") +
               (laneIndex === 1 ? " — its place in the old plan" : ""));
      if (d && d.reasons.length) {
        d.reasons.forEach(function (r) {
          var line = "reason: " + r.reason;
          if (r.line_ids && r.line_ids.length) line += " — " + r.line_ids.join(", ") + (r.more_ids ? " (+" + r.more_ids + " more)" : "");
          if (r.fields && r.fields.length) line += " — " + r.fields.join(", ");
          out.push(line);
          (r.lines || []).forEach(function (l) {
            if (l.old !== undefined) out.push("  " + l.id + " was: " + l.old);
            if (l.new !== undefined) out.push("  " + l.id + " now: " + l.new);
          });
        });
      }
    }
    var ids = "";
    if (lane.last) {
      var first = Object.prototype.hasOwnProperty.call(lane.firstFix, i) ? lane.firstFix[i] : key.slice(key.indexOf(":") + 1);
      ids = " · " + first + " … " + lane.last[i];
    }
    out.push("lines " + start + "–" + (end - 1) + " (" + plural(size, "line") + ")" + ids);
    if (laneIndex === 0 && lane.last) {
      var sc = idsIn(scenes, start, end, 6), ro = idsIn(routes, start, end, 6);
      if (sc) out.push("scenes: " + (sc.ids.length ? sc.ids.join(", ") : "none") + (sc.more ? " (+" + sc.more + " more)" : ""));
      if (ro) out.push("routes: " + (ro.ids.length ? ro.ids.join(", ") : "none") + (ro.more ? " (+" + ro.more + " more)" : ""));
    }
    var median = phase.data.median;
    if (laneIndex === 0 && median > 0) {
      out.push("size: " + plural(size, "line") + ", " + fmtRatio(size / median) + "× the phase median (" + median + ")");
    }
    return out.join("\n");
  }

  // -- drawing ----------------------------------------------------------------------------------
  var patterns = {};
  function pattern(ctx, letter) {
    if (patterns[letter] !== undefined) return patterns[letter];
    var tile = document.createElement("canvas");
    tile.width = 8; tile.height = 8;
    var t = tile.getContext("2d");
    // Crisp, pixel-aligned marks (no anti-aliasing): they print sharply and tell the statuses
    // apart without colour.
    var marked;
    if (letter === "c" || letter === "h") marked = function (x, y) { return (x + y) % 8 < 2; };
    else if (letter === "r") marked = function (x, y) { return (x + y) % 8 < 1 || (x - y + 8) % 8 < 1; };
    else if (letter === "a") marked = function (x, y) { return x % 4 === 1 && y % 4 === 1; };
    else { patterns[letter] = null; return null; }
    t.fillStyle = COLORS[letter][0]; t.fillRect(0, 0, 8, 8);
    t.fillStyle = "#ffffff";
    for (var y = 0; y < 8; y++) for (var x = 0; x < 8; x++) if (marked(x, y)) t.fillRect(x, y, 1, 1);
    patterns[letter] = ctx.createPattern(tile, "repeat");
    return patterns[letter];
  }
  function firstVisible(lane, lo) {
    if (!lane.sorted) return 0;
    return Math.max(0, lastAtOrBefore(lane.starts, lo));
  }
  function laneTop(li) { return li === 0 ? 4 : 4 + LANE_H[0] + 6; }

  function drawPhase(phase) {
    var canvas = phase.canvas, dpr = window.devicePixelRatio || 1;
    var cssW = canvas.clientWidth || 800, cssH = canvas.clientHeight || 40;
    if (canvas.width !== Math.round(cssW * dpr) || canvas.height !== Math.round(cssH * dpr)) {
      canvas.width = Math.round(cssW * dpr); canvas.height = Math.round(cssH * dpr);
    }
    var ctx = canvas.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, cssW, cssH);
    var scale = cssW / (view.hi - view.lo);
    if (!phase.data.enabled) {
      ctx.fillStyle = "#eeeeee"; ctx.fillRect(0, 0, cssW, cssH);
      ctx.strokeStyle = "#bbbbbb"; ctx.lineWidth = 1;
      for (var x = -cssH; x < cssW; x += 10) { ctx.beginPath(); ctx.moveTo(x, cssH); ctx.lineTo(x + cssH, 0); ctx.stroke(); }
      ctx.fillStyle = "#333"; ctx.font = "600 13px system-ui, sans-serif";
      ctx.fillText("disabled: this phase runs nothing", 8, cssH / 2 + 4);
    }
    phase.lanes.forEach(function (lane, li) {
      var top = laneTop(li), h = LANE_H[li];
      var col = -1, colLetter = null, colEnd = 0;
      function flush() {
        if (col < 0) return;
        var p = pattern(ctx, colLetter);
        ctx.fillStyle = p || COLORS[colLetter][0];
        ctx.fillRect(col, top, Math.max(1, colEnd - col), h);
      }
      for (var i = firstVisible(lane, view.lo); i < lane.n; i++) {
        var s = lane.starts[i], e = lane.ends[i];
        if (s >= view.hi) { if (lane.sorted) break; else continue; }
        if (e <= view.lo) continue;
        var x0 = (s - view.lo) * scale, x1 = (e - view.lo) * scale;
        var letter = letterOf(phase, li, i);
        if (x1 - x0 >= 3) {
          flush(); col = -1;
          var pat = pattern(ctx, letter);
          ctx.fillStyle = pat || COLORS[letter][i % 2];
          ctx.fillRect(x0, top, x1 - x0, h);
          ctx.fillStyle = "#ffffff"; ctx.fillRect(x1 - 1, top, 1, h);
        } else {
          var px = Math.floor(x0);
          if (px !== col) { flush(); col = px; colLetter = letter; colEnd = Math.max(px + 1, x1); }
          else {
            if (PRIORITY[letter] > PRIORITY[colLetter]) colLetter = letter;
            colEnd = Math.max(colEnd, x1);
          }
        }
      }
      flush();
    });
    var sel = phase.selected;
    if (sel) {
      var lane = phase.lanes[sel.lane], t = laneTop(sel.lane);
      var sx = (lane.starts[sel.i] - view.lo) * scale, ex = (lane.ends[sel.i] - view.lo) * scale;
      ctx.strokeStyle = "#000"; ctx.lineWidth = 2;
      ctx.strokeRect(Math.max(-2, sx) + 1, t - 2, Math.max(3, Math.min(cssW + 2, ex) - Math.max(-2, sx)) - 2, LANE_H[sel.lane] + 4);
    }
  }
  function drawAxis() {
    var canvas = document.getElementById("axis"), dpr = window.devicePixelRatio || 1;
    var cssW = canvas.clientWidth || 800, cssH = canvas.clientHeight || 22;
    canvas.width = Math.round(cssW * dpr); canvas.height = Math.round(cssH * dpr);
    var ctx = canvas.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, cssW, cssH);
    var span = view.hi - view.lo, step = Math.pow(10, Math.floor(Math.log10(Math.max(1, span / 6))));
    if (span / step > 12) step *= 5; else if (span / step > 6) step *= 2;
    ctx.fillStyle = "#333"; ctx.font = "11px system-ui, sans-serif";
    for (var v = Math.ceil(view.lo / step) * step; v <= view.hi; v += step) {
      var x = (v - view.lo) * cssW / span;
      ctx.fillRect(x, cssH - 6, 1, 6);
      ctx.fillText(String(v), Math.min(x + 2, cssW - 40), cssH - 9);
    }
    var label = document.getElementById("view-range");
    label.textContent = "lines " + Math.floor(view.lo) + "–" + Math.ceil(view.hi) + " of " + DATA.axis;
  }
  var pending = false;
  function redraw() {
    if (pending) return;
    pending = true;
    requestAnimationFrame(function () { pending = false; drawAll(); });
  }
  function drawAll() { drawAxis(); phases.forEach(drawPhase); }

  // -- zoom, pan, selection ---------------------------------------------------------------------
  function setView(lo, hi) {
    var span = Math.min(axis, Math.max(4, hi - lo));
    lo = Math.max(0, Math.min(lo, axis - span));
    view.lo = lo; view.hi = lo + span;
    redraw();
  }
  function zoom(factor, at) {
    if (at === undefined) at = (view.lo + view.hi) / 2;
    setView(at - (at - view.lo) * factor, at + (view.hi - at) * factor);
  }
  function pan(fraction) { var span = view.hi - view.lo; setView(view.lo + span * fraction, view.hi + span * fraction); }

  var tip = document.getElementById("tip");
  var detail = document.getElementById("detail-body");
  function showTip(text, clientX, clientY) {
    tip.textContent = text;
    tip.hidden = false;
    var w = tip.offsetWidth, h = tip.offsetHeight;
    tip.style.left = Math.max(4, Math.min(window.innerWidth - w - 4, clientX + 12)) + "px";
    tip.style.top = (clientY + 16 + h > window.innerHeight ? Math.max(4, clientY - h - 8) : clientY + 16) + "px";
  }
  function hideTip() { tip.hidden = true; }

  function select(phase, laneIndex, i, fromKeyboard) {
    phases.forEach(function (p) { if (p !== phase && p.selected) { p.selected = null; drawPhase(p); } });
    phase.selected = { lane: laneIndex, i: i };
    var text = shardText(phase.index, laneIndex, i);
    detail.textContent = text;
    phase.canvas.setAttribute("aria-label", phase.data.phase + " strip, selected: " + text.split("\n").join("; "));
    var lane = phase.lanes[laneIndex], s = lane.starts[i], e = lane.ends[i];
    if (fromKeyboard && (e <= view.lo || s >= view.hi)) {
      var span = view.hi - view.lo;
      setView(s - span / 2 + (e - s) / 2, s + span / 2 + (e - s) / 2);
    } else {
      drawPhase(phase);
    }
    if (fromKeyboard) {
      var rect = phase.canvas.getBoundingClientRect();
      var scale = rect.width / (view.hi - view.lo);
      var x = rect.left + Math.max(0, Math.min(rect.width, ((Math.max(s, view.lo) + Math.min(e, view.hi)) / 2 - view.lo) * scale));
      showTip(text, x, rect.bottom - 8);
    }
    return text;
  }
  function hit(phase, clientX, clientY) {
    var rect = phase.canvas.getBoundingClientRect();
    var y = clientY - rect.top, li = 0;
    if (phase.lanes.length > 1 && y >= laneTop(1) - 3) li = 1;
    var lane = phase.lanes[li];
    var line = view.lo + (clientX - rect.left) * (view.hi - view.lo) / rect.width;
    if (!lane || !lane.n) return null;
    var i;
    if (lane.sorted) {
      i = lastAtOrBefore(lane.starts, line);
      if (i < 0 || line >= lane.ends[i]) {
        // Narrower than a pixel: take the nearest shard.
        i = Math.max(0, Math.min(lane.n - 1, i < 0 ? 0 : i));
        if (line < lane.starts[i] || line >= lane.ends[i]) {
          var px = (view.hi - view.lo) / rect.width * 2;
          if (Math.abs(line - lane.ends[i]) > px && Math.abs(line - lane.starts[i]) > px) return null;
        }
      }
    } else {
      for (i = 0; i < lane.n; i++) if (lane.starts[i] <= line && line < lane.ends[i]) break;
      if (i === lane.n) return null;
    }
    return { lane: li, i: i };
  }

  function setup(phase) {
    var canvas = document.getElementById("strip-" + phase.index);
    phase.canvas = canvas;
    canvas.addEventListener("mousemove", function (ev) {
      var h = hit(phase, ev.clientX, ev.clientY);
      if (!h) { hideTip(); return; }
      showTip(shardText(phase.index, h.lane, h.i), ev.clientX, ev.clientY);
    });
    canvas.addEventListener("mouseleave", hideTip);
    canvas.addEventListener("click", function (ev) {
      var h = hit(phase, ev.clientX, ev.clientY);
      if (h) select(phase, h.lane, h.i, false);
    });
    canvas.addEventListener("wheel", function (ev) {
      var rect = canvas.getBoundingClientRect();
      if (Math.abs(ev.deltaX) > Math.abs(ev.deltaY)) { pan(ev.deltaX / rect.width); }
      else {
        var at = view.lo + (ev.clientX - rect.left) * (view.hi - view.lo) / rect.width;
        zoom(ev.deltaY > 0 ? 1.25 : 0.8, at);
      }
      ev.preventDefault();
    }, { passive: false });
    var drag = null;
    canvas.addEventListener("pointerdown", function (ev) { drag = { x: ev.clientX, lo: view.lo, hi: view.hi }; });
    window.addEventListener("pointerup", function () { drag = null; });
    canvas.addEventListener("pointermove", function (ev) {
      if (!drag || !(ev.buttons & 1)) return;
      var rect = canvas.getBoundingClientRect();
      var shift = (drag.x - ev.clientX) * (drag.hi - drag.lo) / rect.width;
      if (Math.abs(drag.x - ev.clientX) > 3) { hideTip(); setView(drag.lo + shift, drag.hi + shift); }
    });
    canvas.addEventListener("focus", function () {
      var lane = phase.lanes[0];
      if (!phase.selected && lane.n) select(phase, 0, firstVisible(lane, view.lo), true);
      else if (phase.selected) select(phase, phase.selected.lane, phase.selected.i, true);
    });
    canvas.addEventListener("blur", hideTip);
    canvas.addEventListener("keydown", function (ev) {
      var sel = phase.selected, lane = sel ? phase.lanes[sel.lane] : phase.lanes[0];
      var i = sel ? sel.i : 0, li = sel ? sel.lane : 0, handled = true;
      if (ev.key === "ArrowRight" && !ev.shiftKey) { if (lane.n) select(phase, li, Math.min(lane.n - 1, i + 1), true); }
      else if (ev.key === "ArrowLeft" && !ev.shiftKey) { if (lane.n) select(phase, li, Math.max(0, i - 1), true); }
      else if (ev.key === "ArrowRight") pan(0.2);
      else if (ev.key === "ArrowLeft") pan(-0.2);
      else if (ev.key === "Home") { if (lane.n) select(phase, li, 0, true); }
      else if (ev.key === "End") { if (lane.n) select(phase, li, lane.n - 1, true); }
      else if (ev.key === "ArrowDown" && phase.lanes.length > 1 && li === 0 && phase.lanes[1].n) select(phase, 1, 0, true);
      else if (ev.key === "ArrowUp" && li === 1 && phase.lanes[0].n) select(phase, 0, 0, true);
      else if (ev.key === "n" || ev.key === "p") {
        var step = ev.key === "n" ? 1 : -1;
        for (var j = i + step; j >= 0 && j < lane.n; j += step) {
          if (lane.status && lane.status.charAt(j) !== "u") { select(phase, li, j, true); break; }
        }
      }
      else if (ev.key === "+" || ev.key === "=") zoomAroundSelection(phase, 0.5);
      else if (ev.key === "-" || ev.key === "_") zoomAroundSelection(phase, 2);
      else if (ev.key === "0") setView(0, axis);
      else if (ev.key === "Escape") hideTip();
      else handled = false;
      if (handled) ev.preventDefault();
    });
  }
  function zoomAroundSelection(phase, factor) {
    var sel = phase.selected;
    if (!sel) { zoom(factor); return; }
    var lane = phase.lanes[sel.lane];
    zoom(factor, (lane.starts[sel.i] + lane.ends[sel.i]) / 2);
  }

  // -- jump to a key ----------------------------------------------------------------------------
  var keyIndex = null;
  function find(key) {
    if (!keyIndex) {
      keyIndex = new Map();
      phases.forEach(function (phase) {
        phase.lanes.forEach(function (lane, li) {
          for (var i = 0; i < lane.n; i++) {
            var k = lane.keys[i];
            if (!keyIndex.has(k)) keyIndex.set(k, [phase.index, li, i]);
          }
        });
      });
    }
    var found = keyIndex.get(key);
    if (!found && key.indexOf(":") < 0) {
      for (var p = 0; p < phases.length && !found; p++) found = keyIndex.get(phases[p].data.phase + ":" + key);
    }
    return found || null;
  }
  function jump(key, laneHint, phaseHint) {
    var found = null;
    if (phaseHint !== undefined && laneHint !== undefined) {
      var lane = phases[phaseHint].lanes[laneHint];
      for (var i = 0; lane && i < lane.n; i++) if (lane.keys[i] === key) { found = [phaseHint, laneHint, i]; break; }
    }
    if (!found) found = find(key);
    var status = document.getElementById("jump-status");
    if (!found) { status.textContent = "no shard " + key; return null; }
    var phase = phases[found[0]], ln = phase.lanes[found[1]];
    var s = ln.starts[found[2]], e = ln.ends[found[2]], span = Math.max(e - s, 1) * 12;
    setView((s + e) / 2 - span / 2, (s + e) / 2 + span / 2);
    status.textContent = "";
    phase.canvas.focus({ preventScroll: false });
    var text = select(phase, found[1], found[2], true);
    phase.canvas.scrollIntoView({ block: "center" });
    return text;
  }

  phases.forEach(setup);
  document.getElementById("zoom-in").addEventListener("click", function () { zoom(0.5); });
  document.getElementById("zoom-out").addEventListener("click", function () { zoom(2); });
  document.getElementById("zoom-reset").addEventListener("click", function () { setView(0, axis); });
  document.getElementById("jump").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var key = document.getElementById("jump-key").value.trim();
    if (key) jump(key);
  });
  Array.prototype.forEach.call(document.querySelectorAll("button.jump"), function (button) {
    button.addEventListener("click", function () {
      jump(button.getAttribute("data-key"), Number(button.getAttribute("data-lane")), Number(button.getAttribute("data-phase")));
    });
  });
  window.addEventListener("resize", redraw);
  window.addEventListener("beforeprint", drawAll);
  drawAll();
  var hint = document.getElementById("js-hint");
  if (hint) hint.hidden = false;
  // For tests and curious readers: what the page knows, without reaching into closures.
  window.shardplanReview = {
    ready: true,
    renderMs: performance.now() - started,
    phases: phases.map(function (p) { return { phase: p.data.phase, lanes: p.lanes.map(function (l) { return l.n; }) }; }),
    shardText: shardText,
    key: function (pi, li, i) { return phases[pi].lanes[li].keys[i]; },
    find: find,
    jump: jump,
    view: function () { return [view.lo, view.hi]; },
    setView: function (lo, hi) { setView(lo, hi); drawAll(); }
  };
})();
