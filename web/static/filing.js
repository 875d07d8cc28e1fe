// The filing form (spec §9): required fields follow the category, the VIN's
// check digit and the plate are checked as they are typed — with the server's
// rules, whose data the page carries — and each chosen or dropped file is
// uploaded on its own, with its progress and the archive number it got. The
// server still decides: its refusal is shown beside the file.
"use strict";

(function () {
  var form = document.getElementById("filing");
  if (!form) return;
  var csrf = document.body.dataset.csrf || "";
  var scheme = JSON.parse(document.getElementById("scheme").textContent);
  var msgs = form.dataset;
  var category = document.getElementById("category");
  var pending = [];

  // ISO 3779 check digit, as src/domain/vehicle.rs computes it.
  var WEIGHTS = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2];
  function vinValue(c) {
    if (c >= "0" && c <= "9") return c.charCodeAt(0) - 48;
    var table = { A: 1, B: 2, C: 3, D: 4, E: 5, F: 6, G: 7, H: 8, J: 1, K: 2, L: 3, M: 4,
      N: 5, P: 7, R: 9, S: 2, T: 3, U: 4, V: 5, W: 6, X: 7, Y: 8, Z: 9 };
    return table[c] === undefined ? null : table[c];
  }
  function vinOk(raw) {
    var v = raw.trim().toUpperCase();
    if (v.length !== 17) return false;
    var total = 0;
    for (var i = 0; i < 17; i++) {
      var n = vinValue(v[i]);
      if (n === null) return false;
      total += n * WEIGHTS[i];
    }
    var r = total % 11;
    return v[8] === (r === 10 ? "X" : String(r));
  }
  function plateOk(raw) {
    var norm = Array.from(raw).filter(function (c) {
      return "·•.- \u3000".indexOf(c) < 0;
    }).map(function (c) { return c.toUpperCase(); });
    if (norm.length < 2) return false;
    if (msgs.provinces.indexOf(norm[0]) < 0 || !/^[A-Z]$/.test(norm[1])) return false;
    var rest = norm.slice(2);
    if (rest.length && msgs.plateSuffixes.indexOf(rest[rest.length - 1]) >= 0) rest.pop();
    return rest.length >= 4 && rest.length <= 6 && rest.every(function (c) { return /^[A-Z0-9]$/.test(c); });
  }

  function field(name) { return form.elements.namedItem(name); }
  function say(name, text, ok) {
    var m = document.getElementById("m-" + name);
    var input = field(name);
    if (m) {
      m.textContent = text;
      m.className = "field-msg wide " + (ok ? "ok" : text ? "bad" : "");
    }
    if (input) input.setAttribute("aria-invalid", text && !ok ? "true" : "false");
  }

  function checkVin() {
    var v = field("vehicle.vin").value.trim();
    if (!v) return say("vehicle.vin", "", true), true;
    var ok = vinOk(v);
    say("vehicle.vin", ok ? msgs.vinOk : msgs.vinBad, ok);
    return ok;
  }
  function checkPlate() {
    var v = field("vehicle.plate").value.trim();
    if (!v) return say("vehicle.plate", "", true), true;
    var ok = plateOk(v);
    say("vehicle.plate", ok ? "" : msgs.plateBad, ok);
    return ok;
  }
  field("vehicle.vin").addEventListener("input", checkVin);
  field("vehicle.plate").addEventListener("input", checkPlate);

  function current() {
    return scheme.find(function (c) { return c.code === category.value; }) || scheme[0];
  }
  function onCategory() {
    var c = current();
    var level = category.selectedOptions[0] ? category.selectedOptions[0].dataset.level : "";
    var levelOption = document.querySelector('#f-confidentiality option[value="' + level + '"]');
    document.getElementById("default-level").textContent = levelOption ? levelOption.textContent : level;
    document.querySelectorAll("[data-req-for]").forEach(function (span) {
      var needed = c.required.indexOf(span.dataset.reqFor) >= 0;
      span.hidden = !needed;
      var input = field(span.dataset.reqFor);
      if (input) input.required = needed;
    });
  }
  category.addEventListener("change", onCategory);
  onCategory();

  function metadata() {
    var m = { category: category.value };
    var put = function (path, value) {
      var parts = path.split(".");
      if (parts.length === 1) { m[path] = value; return; }
      m[parts[0]] = m[parts[0]] || {};
      m[parts[0]][parts[1]] = value;
    };
    ["title", "summary", "transcript", "confidentiality", "vehicle.vin", "vehicle.plate",
      "vehicle.model", "vehicle.mileage_km", "customer.name", "customer.phone",
      "customer.id_number", "service.order_no", "service.service_date", "service.technician"]
      .forEach(function (path) {
        var v = field(path).value.trim();
        if (!v) return;
        put(path, path === "vehicle.mileage_km" && /^\d+$/.test(v) ? Number(v) : v);
      });
    var tags = field("tags").value.split(/[;；]/).map(function (t) { return t.trim(); }).filter(Boolean);
    if (tags.length) m.tags = tags;
    return m;
  }

  var list = document.getElementById("uploads");
  function add(files) {
    Array.from(files).forEach(function (f) {
      var li = document.createElement("li");
      li.className = "upload";
      var name = document.createElement("span");
      name.className = "name";
      name.textContent = f.name;
      var bar = document.createElement("progress");
      bar.max = 100;
      bar.value = 0;
      bar.setAttribute("aria-label", msgs.uploading + " " + f.name);
      var result = document.createElement("span");
      result.className = "result";
      li.append(name, bar, result);
      list.append(li);
      pending.push({ file: f, bar: bar, result: result, li: li });
    });
  }
  document.getElementById("files").addEventListener("change", function (e) {
    add(e.target.files);
    e.target.value = "";
  });
  var drop = document.getElementById("drop");
  ["dragenter", "dragover"].forEach(function (t) {
    drop.addEventListener(t, function (e) { e.preventDefault(); drop.classList.add("over"); });
  });
  ["dragleave", "drop"].forEach(function (t) {
    drop.addEventListener(t, function () { drop.classList.remove("over"); });
  });
  drop.addEventListener("drop", function (e) {
    e.preventDefault();
    if (e.dataTransfer && e.dataTransfer.files) add(e.dataTransfer.files);
  });

  function upload(item, meta) {
    return new Promise(function (resolve) {
      var body = new FormData();
      body.append("metadata", new Blob([JSON.stringify(meta)], { type: "application/json" }));
      body.append("file", item.file, item.file.name);
      var xhr = new XMLHttpRequest();
      xhr.open("POST", "/file");
      xhr.setRequestHeader("X-CSRF-Token", csrf);
      xhr.setRequestHeader("HX-Request", "true");
      xhr.upload.addEventListener("progress", function (e) {
        if (e.lengthComputable) item.bar.value = Math.round((e.loaded / e.total) * 100);
      });
      xhr.addEventListener("load", function () {
        if (xhr.status === 401 && xhr.getResponseHeader("HX-Redirect")) {
          window.location.assign(xhr.getResponseHeader("HX-Redirect"));
          return;
        }
        item.bar.value = 100;
        // The server's own fragment: escaped by its templates.
        item.result.innerHTML = xhr.responseText;
        item.li.classList.add(xhr.status === 201 ? "done" : "failed");
        resolve();
      });
      xhr.addEventListener("error", function () {
        item.result.textContent = msgs.failed;
        item.li.classList.add("failed");
        resolve();
      });
      xhr.send(body);
    });
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var problem = document.getElementById("form-msg");
    problem.textContent = "";
    var missing = Array.from(form.querySelectorAll("[required]")).filter(function (i) {
      return !i.value.trim();
    });
    if (!checkVin() || !checkPlate()) {
      problem.textContent = msgs.vinBad;
      return;
    }
    if (missing.length) {
      var label = form.querySelector('label[for="' + missing[0].id + '"]');
      problem.textContent = (label ? label.textContent : missing[0].name) ;
      missing[0].focus();
      return;
    }
    if (!pending.length) {
      problem.textContent = document.getElementById("drop").textContent.trim();
      return;
    }
    var meta = metadata();
    var items = pending;
    pending = [];
    items.reduce(function (p, item) {
      return p.then(function () { return upload(item, meta); });
    }, Promise.resolve());
  });
})();
