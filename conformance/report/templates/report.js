/* The case list: drawn from the page's JSON, a page of rows per group at a time, a case's details
   only when it is opened. Data reaches the page as text only (textContent), never as markup. */
(function () {
  "use strict";
  var form = document.getElementById("controls");
  var dataNode = document.getElementById("report-data");
  if (!form || !dataNode) { return; }
  var D = JSON.parse(dataNode.textContent);
  var cases = D.cases;
  var byAnchor = {};
  cases.forEach(function (c) {
    byAnchor[c.a] = c;
    c.srch = (c.k + " " + c.t + " rfc" + c.r + " rfc " + c.r + " " + c.s + " " + c.p).toLowerCase();
  });
  var FIRST = 100, MORE = 400;  // rows drawn per group at first, and per "show more"
  var VORDER = { fail: 0, error: 1, inconclusive: 2, "not-implemented": 3, skip: 4, pass: 5 };
  var LORDER = { MUST: 0, SHOULD: 1, MAY: 2 };
  var OUTCOMES = ["pass", "fail", "not-implemented", "skip", "inconclusive", "error"];
  var COLOR = { P: "#1a7f37", F: "#cf222e", N: "#0a7ea4", S: "#6e7781", I: "#9a6700", E: "#8250df", "-": "#eaeef2" };
  var WORD = { P: "pass", F: "fail", N: "not-implemented", S: "skip", I: "inconclusive", E: "error", "-": "not run" };
  var COLUMNS = [["o", "verdict"], ["l", "level"], ["k", "id"], ["t", "title"], ["r", "RFC §"], ["h", "history"], ["d", "duration"]];
  var list = document.getElementById("list"), none = document.getElementById("none");
  var count = document.getElementById("count"), q = document.getElementById("q");
  var groupby = document.getElementById("groupby");
  var failonly = document.getElementById("failonly"), newonly = document.getElementById("newonly");
  var fliponly = document.getElementById("fliponly");
  var sortKey = null, sortDir = 1, shown = {}, current = [];

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    return e;
  }
  function ms(v) { return v < 1000 ? v.toFixed(1) + " ms" : (v / 1000).toFixed(2) + " s"; }
  function checked(name) {
    var out = {};
    form.querySelectorAll("input[name=" + name + "]").forEach(function (i) { if (i.checked) { out[i.value] = true; } });
    return out;
  }

  function matches(c, terms, verdicts, levels) {
    return verdicts[c.o] && levels[c.l] &&
      (!failonly.checked || c.o === "fail" || c.o === "error") &&
      (!newonly || !newonly.checked || c.st === "new") &&
      (!fliponly || !fliponly.checked || c.fl === 1) &&
      terms.every(function (t) { return c.srch.indexOf(t) >= 0; });
  }

  function filtered() {
    var terms = q.value.toLowerCase().split(/\s+/).filter(Boolean);
    var verdicts = checked("v"), levels = checked("l");
    return cases.filter(function (c) { return matches(c, terms, verdicts, levels); });
  }

  function flips(c) {
    var h = c.h || "", n = 0, prev = null;
    for (var i = 0; i < h.length; i++) {
      if (h[i] === "-") { continue; }
      if (prev !== null && h[i] !== prev) { n += 1; }
      prev = h[i];
    }
    return n;
  }

  function compare(a, b) {
    var x, y;
    if (sortKey === "o") { x = VORDER[a.o]; y = VORDER[b.o]; }
    else if (sortKey === "l") { x = LORDER[a.l]; y = LORDER[b.l]; }
    else if (sortKey === "t") { x = a.t.toLowerCase(); y = b.t.toLowerCase(); }
    else if (sortKey === "r") { x = a.r * 1e6; y = b.r * 1e6; if (x === y) { x = a.sk; y = b.sk; } }
    else if (sortKey === "h") { x = flips(a); y = flips(b); }
    else if (sortKey === "d") { x = a.d; y = b.d; }
    else { x = a.k; y = b.k; }
    if (x < y) { return -sortDir; }
    if (x > y) { return sortDir; }
    return a.k < b.k ? -1 : a.k > b.k ? 1 : 0;
  }

  function groupsOf(arr) {
    var mode = groupby.value, groups = {}, order = [];
    arr.forEach(function (c) {
      var id, title;
      if (mode === "rfc") {
        id = "g-rfc-" + c.r;
        title = "RFC " + c.r + (D.rfcs[c.r] ? " · " + D.rfcs[c.r] : "");
      } else if (mode === "none") {
        id = "g-all"; title = "All cases";
      } else {
        id = "g-" + c.y + "-" + c.p;
        title = c.p.toUpperCase() + " · " + (D.layers[c.y] || "Layer " + c.y);
      }
      if (!groups[id]) { groups[id] = { id: id, title: title, cases: [], rfc: c.r, y: c.y, p: c.p }; order.push(groups[id]); }
      groups[id].cases.push(c);
    });
    if (mode === "rfc") { order.sort(function (a, b) { return a.rfc - b.rfc; }); }
    else if (mode === "layer") { order.sort(function (a, b) { return a.y - b.y || (a.p < b.p ? -1 : 1); }); }
    order.forEach(function (g) {
      g.cases.sort(sortKey ? compare : mode === "rfc" ? function (a, b) {
        return a.sk < b.sk ? -1 : a.sk > b.sk ? 1 : (a.k < b.k ? -1 : 1);
      } : compare);
    });
    return order;
  }

  function historyStrip(c) {
    var h = c.h;
    var s = el("span", "hist");
    if (!h) { return s; }
    var stops = [], w = 100 / h.length;
    for (var i = 0; i < h.length; i++) {
      stops.push(COLOR[h[i]] + " " + (i * w).toFixed(2) + "% " + ((i + 1) * w - 0.6).toFixed(2) + "%", "#fff " + ((i + 1) * w - 0.6).toFixed(2) + "% " + ((i + 1) * w).toFixed(2) + "%");
    }
    s.style.background = "linear-gradient(to right," + stops.join(",") + ")";
    s.title = "verdicts over the last " + h.length + " runs, oldest first: " + h.split("").map(function (x) { return WORD[x]; }).join(", ");
    return s;
  }

  function row(c) {
    var d = el("details", "case");
    d.id = c.a;
    d.dataset.v = c.o;
    var s = el("summary");
    var vcell = el("span", "cv");
    vcell.appendChild(el("span", "vd " + c.o, c.o));
    if (c.st === "known") { vcell.appendChild(el("span", "kd", "known deviation")); }
    else if (c.st === "new") { vcell.appendChild(el("span", "nd", c.o === "fail" || c.o === "error" ? "new failure" : "differs from baseline")); }
    if (c.fl) { vcell.appendChild(el("span", "fd", "flipped")); }
    s.appendChild(vcell);
    s.appendChild(el("span", "lv " + c.l, c.l));
    s.appendChild(el("code", "cid", c.k));
    s.appendChild(el("span", "ti", c.t));
    s.appendChild(el("span", "rf", "RFC " + c.r + " §" + c.s));
    s.appendChild(historyStrip(c));
    s.appendChild(el("span", "du", ms(c.d)));
    d.appendChild(s);
    return d;
  }

  function fact(dl, name, value) {
    dl.appendChild(el("dt", null, name));
    var dd = el("dd");
    if (value instanceof Node) { dd.appendChild(value); } else { dd.textContent = value; }
    dl.appendChild(dd);
  }

  function link(href, text) {
    var a = el("a", null, text);
    a.href = href;
    a.rel = "noopener noreferrer";
    return a;
  }

  function body(c) {
    var b = el("div", "body");
    b.appendChild(el("p", "req", c.q));
    var dl = el("dl", "facts");
    var rfc = document.createDocumentFragment();
    rfc.appendChild(link(c.u, "RFC " + c.r + " section " + c.s));
    if (D.rfcs[c.r]) { rfc.appendChild(document.createTextNode(" (" + D.rfcs[c.r] + ")")); }
    (c.x || []).forEach(function (r) {
      rfc.appendChild(document.createTextNode(", also "));
      rfc.appendChild(link("https://www.rfc-editor.org/rfc/rfc" + r, "RFC " + r));
    });
    fact(dl, "RFC", rfc);
    fact(dl, "Level", c.l + " · layer " + c.y + " · " + c.p);
    fact(dl, "Verdict", c.o + " in " + ms(c.d) + (c.wk ? " on " + c.wk : ""));
    if (c.h) {
      var hist = el("span");
      hist.appendChild(historyStrip(c));
      hist.appendChild(document.createTextNode(" " + c.h.split("").map(function (x) { return WORD[x]; }).join(" → ") +
        (c.fl ? " (flipped since the previous run)" : "")));
      fact(dl, "History", hist);
    }
    if (c.w) { fact(dl, "Waits", c.w); }
    if (c.n && c.n.length) { fact(dl, "Needs", c.n.join(", ")); }
    if (c.g && c.g.length) { fact(dl, "Tags", c.g.join(", ")); }
    fact(dl, "Test", el("code", null, c.nd));
    b.appendChild(dl);
    if (c.b && (c.b.dv || !c.b.m)) {
      var bl = el("div", "bl " + (c.st || "match"));
      var p = el("p");
      if (c.b.dv) {
        p.appendChild(el("b", null, c.b.m ? "Known deviation" : "Baseline expects " + c.b.e));
        p.appendChild(document.createTextNode((c.b.m ? "" : ", got " + c.o) + ": " + c.b.re));
        bl.appendChild(p);
        bl.appendChild(el("p", "blrfc", c.b.rf));
      } else {
        p.appendChild(el("b", null, "Not in the baseline"));
        p.appendChild(document.createTextNode(", so expected to " + c.b.e + "; got " + c.o + "."));
        bl.appendChild(p);
      }
      b.appendChild(bl);
    }
    if (c.m) { b.appendChild(el("pre", "msg", c.m)); }
    if (c.pre && c.pre.length) {
      var ul = el("ul", "pre");
      c.pre.forEach(function (x) { ul.appendChild(el("li", null, x)); });
      b.appendChild(ul);
    }
    if (c.lr) {
      var tb = el("details", "tb");
      tb.appendChild(el("summary", null, "full report from pytest"));
      tb.appendChild(el("pre", null, c.lr));
      b.appendChild(tb);
    }
    if (c.f) { b.appendChild(ladder(c)); } else { b.appendChild(el("p", "note", "No frames were captured for this case.")); }
    if (c.pc) {
      var pp = el("p", "pcap");
      var a = link(c.pc, c.pc.split("/").pop());
      a.setAttribute("download", "");
      pp.appendChild(a);
      pp.appendChild(document.createTextNode(" (pcapng, for Wireshark)"));
      b.appendChild(pp);
    }
    return b;
  }

  function ladder(c) {
    var n = c.ln.length;
    var box = el("div", "ladder");
    box.style.setProperty("--n", n);
    var lh = el("div", "lh");
    lh.appendChild(el("span", "t", "ms"));
    var lanes = el("span", "lanes");
    c.ln.forEach(function (lane) {
      var s = el("span", null, lane);
      s.style.width = (100 / n).toFixed(3) + "%";
      lanes.appendChild(s);
    });
    lh.appendChild(lanes);
    box.appendChild(lh);
    c.f.forEach(function (f) {
      var d = el("details", "fr " + f.dr + (f.a ? " aux" : "") + (f.fo ? " focus" : ""));
      var s = el("summary");
      s.appendChild(el("span", "t", "+" + f.t.toFixed(3)));
      var ln = el("span", "lanes");
      var lo = Math.min(f.sl, f.dl), hi = Math.max(f.sl, f.dl);
      var ar = el("span", "ar " + (f.dl > f.sl ? "r" : "l"));
      ar.style.left = (100 * (lo + 0.5) / n).toFixed(2) + "%";
      ar.style.width = (100 * (hi - lo) / n).toFixed(2) + "%";
      ln.appendChild(ar);
      var lbl = el("span", "lbl", f.lb);
      lbl.title = (f.sm || f.lb) + (f.no ? " (" + f.no + ")" : "");
      ln.appendChild(lbl);
      s.appendChild(ln);
      if (f.fo) { s.title = "the failed assertion is about this frame: " + f.fo; }
      d.appendChild(s);
      d.frame = f;
      box.appendChild(d);
      if (f.fo) { d.open = true; }
    });
    return box;
  }

  function decode(f) {
    var dec = el("div", "dec");
    dec.appendChild(el("p", "fh", "#" + f.n + " · " + (f.dr === "out" ? f.pt + " → SUT" : "SUT → " + f.pt) + " · " +
      f.ln + " bytes" + (f.no ? " · " + f.no : "")));
    if (f.fo) { dec.appendChild(el("p", "fo", "◀ " + f.fo)); }
    if (f.L) {
      var t = el("table", "layers");
      f.L.forEach(function (layer) {
        var tr = el("tr");
        tr.appendChild(el("th", null, layer[0]));
        var td = el("td");
        layer[1].split("\t").forEach(function (kv) {
          var eq = kv.indexOf("=");
          if (eq < 0) { return; }
          td.appendChild(el("i", null, kv.slice(0, eq)));
          td.appendChild(document.createTextNode("=" + kv.slice(eq + 1) + " "));
        });
        tr.appendChild(td);
        t.appendChild(tr);
      });
      dec.appendChild(t);
      var hx = el("details", "hx");
      hx.appendChild(el("summary", null, "hex"));
      hx.appendChild(el("pre"));
      hx.b64 = f.x;
      dec.appendChild(hx);
    } else {
      dec.appendChild(el("p", "note", "No bytes for this frame: the case's pcap is missing or does not match."));
    }
    return dec;
  }

  // Hex dumps are drawn when opened, from the frame's base64 bytes.
  function hexdump(b64) {
    var raw = atob(b64), lines = [];
    for (var off = 0; off < raw.length; off += 16) {
      var hex = [], text = "";
      for (var i = off; i < Math.min(off + 16, raw.length); i++) {
        var b = raw.charCodeAt(i);
        hex.push((b < 16 ? "0" : "") + b.toString(16));
        text += b >= 32 && b < 127 ? raw.charAt(i) : ".";
      }
      var h = hex.join(" ");
      var o = off.toString(16);
      while (o.length < 4) { o = "0" + o; }
      lines.push(o + "  " + h + " ".repeat(47 - h.length) + "  " + text);
    }
    return lines.join("\n");
  }

  // Details on demand: a case's body when it opens, a frame's decode when it opens, hex likewise.
  document.addEventListener("toggle", function (e) {
    var d = e.target;
    if (!d.open || !d.classList) { return; }
    if (d.classList.contains("case") && !d.drawn && byAnchor[d.id] && d.parentNode.closest("#list")) {
      d.appendChild(body(byAnchor[d.id]));
      d.drawn = true;
      d.querySelectorAll("details.fr[open]").forEach(function (fr) { fr.appendChild(decode(fr.frame)); fr.drawn = true; });
    } else if (d.classList.contains("fr") && !d.drawn && d.frame) {
      d.appendChild(decode(d.frame));
      d.drawn = true;
    } else if (d.classList.contains("hx") && !d.drawn && d.b64) {
      d.querySelector("pre").textContent = hexdump(d.b64);
      d.drawn = true;
    }
  }, true);

  function header() {
    var h = el("div", "cols");
    h.setAttribute("role", "row");
    COLUMNS.forEach(function (col) {
      var b = el("button", "col c-" + col[0], col[1]);
      b.type = "button";
      b.dataset.key = col[0];
      b.setAttribute("aria-sort", sortKey === col[0] ? (sortDir > 0 ? "ascending" : "descending") : "none");
      b.title = "sort by " + col[1];
      h.appendChild(b);
    });
    return h;
  }

  function render() {
    current = filtered();
    var groups = groupsOf(current);
    var frag = document.createDocumentFragment();
    frag.appendChild(header());
    groups.forEach(function (g) {
      var sec = el("section", "group");
      sec.id = g.id;
      var h = el("h3", null, g.title + " ");
      var counts = el("span", "gc");
      OUTCOMES.forEach(function (o) {
        var k = g.cases.filter(function (c) { return c.o === o; }).length;
        if (k) { counts.appendChild(el("span", "vd " + o, k + " " + o)); }
      });
      h.appendChild(counts);
      sec.appendChild(h);
      var limit = shown[g.id] || FIRST;
      g.cases.slice(0, limit).forEach(function (c) { sec.appendChild(row(c)); });
      if (g.cases.length > limit) {
        var more = el("button", "more", "show " + Math.min(MORE, g.cases.length - limit) + " more of " +
          (g.cases.length - limit) + " not shown");
        more.type = "button";
        more.dataset.group = g.id;
        sec.appendChild(more);
      }
      frag.appendChild(sec);
    });
    list.textContent = "";
    list.appendChild(frag);
    count.textContent = current.length + " of " + cases.length + " results shown";
    none.hidden = current.length > 0;
  }

  function resetFilters() {
    q.value = "";
    form.querySelectorAll("input[type=checkbox]").forEach(function (i) { i.checked = i.name === "v" || i.name === "l"; });
  }

  function reveal(anchor) {
    var c = byAnchor[anchor];
    if (!c) { return null; }
    var terms = q.value.toLowerCase().split(/\s+/).filter(Boolean);
    if (!matches(c, terms, checked("v"), checked("l"))) { resetFilters(); render(); }
    var e = document.getElementById(anchor);
    if (!e) {
      var g = groupsOf(current).filter(function (x) { return x.cases.indexOf(c) >= 0; })[0];
      if (g) { shown[g.id] = g.cases.indexOf(c) + 1 + FIRST; render(); }
      e = document.getElementById(anchor);
    }
    return e;
  }

  function openTarget() {
    var id = decodeURIComponent(location.hash.slice(1));
    var t = id && reveal(id);
    if (t) {
      t.open = true;
      t.scrollIntoView({ block: "start" });
    }
  }

  // What sticks at the top (the controls, the column heads) must not hide the case a link jumps to.
  function barHeight() {
    var cols = list.querySelector(".cols");
    document.documentElement.style.setProperty("--bar", form.offsetHeight + "px");
    document.documentElement.style.setProperty("--stick", (form.offsetHeight + (cols ? cols.offsetHeight : 0) + 6) + "px");
  }

  function csv() {
    var rows = [["key", "id", "title", "level", "verdict", "baseline", "rfc", "section", "protocol", "duration_ms", "history", "message"]];
    current.slice().sort(compare).forEach(function (c) {
      rows.push([c.k, c.i, c.t, c.l, c.o, c.st === "known" ? "known deviation" : c.st === "new" ? "differs" : "", c.r, c.s, c.p,
        c.d, c.h || "", (c.m || "").split("\n")[0]]);
    });
    var text = rows.map(function (r) {
      return r.map(function (v) {
        var s = String(v);
        if (/^[=+\-@]/.test(s)) { s = "'" + s; }  // a spreadsheet must not run a cell as a formula
        return /[",\n]/.test(s) ? "\"" + s.replace(/"/g, "\"\"") + "\"" : s;
      }).join(",");
    }).join("\r\n") + "\r\n";
    var a = el("a");
    a.href = URL.createObjectURL(new Blob([text], { type: "text/csv" }));
    a.download = "conformance-" + D.run + ".csv";
    document.body.appendChild(a);
    a.click();
    a.remove();
    return text;
  }
  window.conformanceCsv = csv;  // for the browser test: the text the button downloads

  form.hidden = false;
  if (!D.history) { list.classList.add("nohist"); }
  form.addEventListener("submit", function (e) { e.preventDefault(); });
  var timer = null;
  q.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(function () { shown = {}; render(); }, 120); });
  form.addEventListener("change", function (e) { if (e.target !== q && e.target !== groupby) { shown = {}; render(); } });
  groupby.addEventListener("change", function () { shown = {}; render(); });
  list.addEventListener("click", function (e) {
    var b = e.target.closest("button");
    if (!b) { return; }
    if (b.classList.contains("more")) {
      shown[b.dataset.group] = (shown[b.dataset.group] || FIRST) + MORE;
      render();
    } else if (b.classList.contains("col")) {
      sortDir = sortKey === b.dataset.key ? -sortDir : 1;
      sortKey = b.dataset.key;
      render();
    }
  });
  document.getElementById("expand").addEventListener("click", function () {
    list.querySelectorAll("details.case").forEach(function (c) { c.open = true; });
  });
  document.getElementById("collapse").addEventListener("click", function () {
    list.querySelectorAll("details.case[open]").forEach(function (c) { c.open = false; });
  });
  document.getElementById("csv").addEventListener("click", csv);
  document.addEventListener("click", function (e) {
    var a = e.target.closest && e.target.closest("a[href^='#case-']");
    if (a && a.getAttribute("href") === location.hash) { e.preventDefault(); openTarget(); }
  });
  window.addEventListener("hashchange", openTarget);
  window.addEventListener("resize", barHeight);
  render();
  barHeight();
  openTarget();
}());
