/* Search, filters and regrouping. The page is complete without this script: it only hides, shows and moves. */
(function () {
  "use strict";
  var form = document.getElementById("controls");
  if (!form) { return; }
  form.hidden = false;
  var cases = Array.prototype.slice.call(document.querySelectorAll("details.case"));
  var groupsBox = document.getElementById("groups");
  var layerGroups = Array.prototype.slice.call(groupsBox.querySelectorAll(":scope > section.group"));
  var home = cases.map(function (c) { return c.parentNode; });
  var rfcGroups = null;
  var q = document.getElementById("q"), groupby = document.getElementById("groupby");
  var failonly = document.getElementById("failonly"), newonly = document.getElementById("newonly");
  var count = document.getElementById("count"), none = document.getElementById("none");

  function checked(name) {
    var out = {};
    form.querySelectorAll("input[name=" + name + "]").forEach(function (i) { if (i.checked) { out[i.value] = true; } });
    return out;
  }

  function currentGroups() { return groupby.value === "rfc" ? rfcGroups : layerGroups; }

  function apply() {
    var terms = q.value.toLowerCase().split(/\s+/).filter(Boolean);
    var verdicts = checked("v"), levels = checked("l"), shown = 0;
    cases.forEach(function (c) {
      var d = c.dataset;
      var ok = verdicts[d.v] && levels[d.l] &&
        (!failonly.checked || d.v === "fail" || d.v === "error") &&
        (!newonly || !newonly.checked || d.st === "new") &&
        terms.every(function (t) { return d.s.indexOf(t) >= 0; });
      c.hidden = !ok;
      if (ok) { shown += 1; }
    });
    currentGroups().forEach(function (g) { g.hidden = !g.querySelector("details.case:not([hidden])"); });
    count.textContent = shown + " of " + cases.length + " cases shown";
    none.hidden = shown > 0;
  }

  function buildRfcGroups() {
    var byRfc = {};
    cases.forEach(function (c) { (byRfc[c.dataset.rfc] = byRfc[c.dataset.rfc] || []).push(c); });
    return Object.keys(byRfc).sort(function (a, b) { return a - b; }).map(function (rfc) {
      var s = document.createElement("section");
      s.className = "group";
      s.id = "g-rfc-" + rfc;
      var h = document.createElement("h3");
      h.textContent = "RFC " + rfc;
      s.appendChild(h);
      s.members = byRfc[rfc].sort(function (a, b) {
        return a.dataset.sk < b.dataset.sk ? -1 : a.dataset.sk > b.dataset.sk ? 1 : (a.id < b.id ? -1 : 1);
      });
      return s;
    });
  }

  function regroup() {
    if (groupby.value === "rfc") {
      rfcGroups = rfcGroups || buildRfcGroups();
      layerGroups.forEach(function (g) { g.hidden = true; });
      rfcGroups.forEach(function (g) {
        g.members.forEach(function (c) { g.appendChild(c); });
        groupsBox.appendChild(g);
      });
    } else {
      if (rfcGroups) { rfcGroups.forEach(function (g) { g.remove(); }); }
      cases.forEach(function (c, i) { home[i].appendChild(c); });
    }
    apply();
  }

  function openTarget() {
    var id = decodeURIComponent(location.hash.slice(1));
    var t = id && document.getElementById(id);
    if (t && t.tagName === "DETAILS") {
      t.hidden = false;
      t.open = true;
      t.scrollIntoView();
    }
  }

  form.addEventListener("submit", function (e) { e.preventDefault(); });
  // Hex dumps are drawn when opened, from the frame's base64 bytes: the page stays small.
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
  document.addEventListener("toggle", function (e) {
    var d = e.target;
    if (d.classList && d.classList.contains("hx") && d.open && !d.drawn) {
      d.querySelector("pre").textContent = hexdump(d.dataset.b);
      d.drawn = true;
    }
  }, true);

  var timer = null;
  q.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(apply, 120); });
  groupby.addEventListener("change", regroup);
  form.addEventListener("change", function (e) { if (e.target !== groupby && e.target !== q) { apply(); } });
  document.getElementById("expand").addEventListener("click", function () {
    cases.forEach(function (c) { if (!c.hidden) { c.open = true; } });
  });
  document.getElementById("collapse").addEventListener("click", function () {
    cases.forEach(function (c) { c.open = false; });
  });
  window.addEventListener("hashchange", openTarget);
  apply();
  openTarget();
}());
