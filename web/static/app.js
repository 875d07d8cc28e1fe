// The front desk's shared behaviour (spec §9). No inline script anywhere: the
// pages' CSP allows scripts from this server only.
"use strict";

(function () {
  var csrf = document.body.dataset.csrf || "";

  if (window.htmx) {
    // Nothing evaluated from attributes, no injected <style>, no page copies
    // kept in localStorage (they would hold document data), errors swapped in.
    htmx.config.allowEval = false;
    htmx.config.allowScriptTags = false;
    htmx.config.includeIndicatorStyles = false;
    htmx.config.selfRequestsOnly = true;
    htmx.config.historyCacheSize = 0;
    htmx.config.refreshOnHistoryMiss = true;
    htmx.config.responseHandling = [
      { code: "204", swap: false },
      { code: "[23]..", swap: true },
      { code: "[45]..", swap: true, error: true },
    ];
    document.body.addEventListener("htmx:configRequest", function (e) {
      e.detail.headers["X-CSRF-Token"] = csrf;
    });
  }

  // The search box: search as the person types, but never while an input
  // method (拼音) is composing — only once the composition is committed.
  var form = document.getElementById("search");
  var box = document.getElementById("q");
  if (form && box && window.htmx) {
    var timer = null;
    var composing = false;
    var last = box.value;
    var fire = function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        if (composing || box.value === last) return;
        last = box.value;
        if (box.value.trim() === "") return;
        htmx.trigger(form, "search");
      }, 350);
    };
    box.addEventListener("compositionstart", function () {
      composing = true;
      clearTimeout(timer);
    });
    box.addEventListener("compositionend", function () {
      composing = false;
      fire();
    });
    box.addEventListener("input", function (e) {
      if (e.isComposing || composing) return;
      fire();
    });
    box.addEventListener("keydown", function (e) {
      // Enter that commits a composition is not a search.
      if (e.key === "Enter" && (e.isComposing || composing || e.keyCode === 229)) {
        e.preventDefault();
      }
    });
    form.addEventListener("submit", function () {
      clearTimeout(timer);
      last = box.value;
    });
  }

  // Plain-text preview: fetched and shown as text, never as markup.
  document.querySelectorAll("pre[data-text-src]").forEach(function (pre) {
    fetch(pre.dataset.textSrc, { credentials: "same-origin" })
      .then(function (r) {
        if (!r.ok) throw new Error(String(r.status));
        return r.text();
      })
      .then(function (text) {
        pre.textContent = text.length > 1048576 ? text.slice(0, 1048576) + "\n…" : text;
      })
      .catch(function () {
        pre.textContent = pre.dataset.failed;
      });
  });

  // The index rebuild: the form posts as any form does (the answer comes
  // when the rebuild is done, an error as a page of its own); meanwhile this
  // page stays and fetches the progress box, which, once it says a rebuild
  // is running, polls by itself every second.
  var rebuild = document.getElementById("rebuild");
  if (rebuild && window.htmx) {
    rebuild.addEventListener("submit", function () {
      setTimeout(function () {
        if (document.getElementById("rebuild-progress")) {
          htmx.ajax("GET", "/admin/reindex/progress", { target: "#rebuild-progress", swap: "outerHTML" });
        }
      }, 300);
    });
  }
})();
