// The console's live parts: a session page follows its events; the
// deployment editor compiles the filter as you type. Everything else is
// plain HTML forms.
"use strict";
(function () {
  var main = document.getElementById("main");
  var csrf = main ? main.getAttribute("data-csrf") : "";

  // Session, live: each journal record (SSE) renders the live part again
  // from the journal, a render at a time.
  var live = document.getElementById("live");
  if (live) {
    var status = document.getElementById("status");
    if (!status || status.getAttribute("data-final") !== "true") {
      var busy = false, again = false;
      var refresh = function () {
        if (busy) { again = true; return; }
        busy = true;
        fetch(live.getAttribute("data-live"), { credentials: "same-origin" })
          .then(function (r) { return r.ok ? r.text() : null; })
          .then(function (html) {
            if (html !== null) { live.innerHTML = html; }
            busy = false;
            if (again) { again = false; refresh(); }
          })
          .catch(function () { busy = false; });
      };
      var es = new EventSource(live.getAttribute("data-events"));
      ["status", "stage", "decisions", "plan", "action", "reset", "reboot"].forEach(function (k) {
        es.addEventListener(k, refresh);
      });
      var out = document.getElementById("output"), os = null, first = true;
      if (out) {
        os = new EventSource(out.getAttribute("data-src"));
        os.addEventListener("line", function (ev) {
          var d = JSON.parse(ev.data);
          if (first) { out.textContent = ""; first = false; }
          out.textContent += "[" + d.index + "] " + d.text + "\n";
          out.scrollTop = out.scrollHeight;
        });
      }
      es.addEventListener("end", function () {
        es.close();
        if (os) { os.close(); }
        refresh();
        var c = document.getElementById("controls");
        if (c) { c.hidden = true; }
      });
    }
  }

  // Deployment editor: compile the filter as you type.
  var filter = document.getElementById("filter");
  if (filter) {
    var lang = document.getElementById("language");
    var out = document.getElementById("filter-status");
    var caret = document.getElementById("filter-caret");
    var timer = null, seq = 0;
    var check = function () {
      var mine = ++seq;
      fetch("/console/filter", {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify({ language: lang.value, source: filter.value })
      }).then(function (r) { return r.json(); }).then(function (res) {
        if (mine !== seq) { return; }
        if (res.ok) {
          out.className = "ok";
          out.textContent = "The filter compiles.";
          caret.textContent = "";
          filter.removeAttribute("aria-invalid");
          return;
        }
        out.className = "error";
        out.textContent = res.line ? "Line " + res.line + ", column " + res.column + ": " + res.message : res.message;
        filter.setAttribute("aria-invalid", "true");
        // the line at fault with a caret under the column
        var lines = filter.value.split("\n");
        var l = lines[(res.line || 1) - 1] || "";
        caret.textContent = res.line ? l + "\n" + " ".repeat(Math.max(0, res.column - 1)) + "^" : "";
      }).catch(function () {});
    };
    var soon = function () { clearTimeout(timer); timer = setTimeout(check, 250); };
    filter.addEventListener("input", soon);
    lang.addEventListener("change", soon);
  }
})();
