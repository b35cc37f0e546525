// Whistle web admin: small behaviours, no framework. No inline scripts anywhere (CSP):
// pages mark elements with data-* attributes and this file wires them up.
(function () {
  "use strict";

  // "Select all" checkbox: <input type="checkbox" data-select-all="case_ids">
  function selectAll(box) {
    var scope = box.closest("form") || document;
    scope.querySelectorAll('input[type="checkbox"][name="' + box.dataset.selectAll + '"]')
      .forEach(function (cb) { cb.checked = box.checked; });
    updateCounts(scope);
  }

  // Live count of ticked rows: <span data-selected-count="case_ids">
  function updateCounts(scope) {
    (scope || document).querySelectorAll("[data-selected-count]").forEach(function (el) {
      var name = el.dataset.selectedCount;
      var form = el.closest("form") || document;
      var n = form.querySelectorAll('input[type="checkbox"][name="' + name + '"]:checked').length;
      el.textContent = String(n);
    });
  }

  document.addEventListener("change", function (ev) {
    var el = ev.target;
    if (!(el instanceof HTMLInputElement)) return;
    if (el.dataset.selectAll) selectAll(el);
    else if (el.type === "checkbox") updateCounts(el.closest("form"));
  });

  // Confirmation before a consequential submit: <form data-confirm="text">
  // or on the clicked button: <button data-confirm="text">.
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    var submitter = ev.submitter;
    var text = (submitter && submitter.dataset && submitter.dataset.confirm) || form.dataset.confirm;
    if (text && !window.confirm(text)) ev.preventDefault();
  }, true);

  document.addEventListener("click", function (ev) {
    var el = ev.target instanceof Element ? ev.target : null;
    if (!el) return;
    var back = el.closest("[data-back]");
    if (back && window.history.length > 1) {
      ev.preventDefault();
      window.history.back();
      return;
    }
    // Full-size photo on click: <a href="full.jpg" data-viewer><img ...></a>
    var link = el.closest("a[data-viewer]");
    if (link) {
      var dialog = document.getElementById("photo-viewer");
      if (!dialog || typeof dialog.showModal !== "function") return; // plain link fallback
      ev.preventDefault();
      var img = dialog.querySelector("img");
      img.src = link.getAttribute("href");
      img.alt = link.dataset.alt || "";
      dialog.showModal();
    }
  });

  // Clear the last htmx error when a new request starts.
  document.addEventListener("htmx:beforeRequest", function () {
    var box = document.getElementById("htmx-error");
    if (box) box.textContent = "";
  });
  // A network failure never reaches the server: say so in the page's language.
  document.addEventListener("htmx:sendError", function () {
    var box = document.getElementById("htmx-error");
    if (!box) return;
    var en = document.body.dataset.locale === "en";
    box.innerHTML = "";
    var div = document.createElement("div");
    div.className = "flash flash-error";
    div.setAttribute("role", "alert");
    div.textContent = en ? "The server did not answer; nothing was changed. Try again."
      : "服务器没有响应，未做任何更改。请重试。";
    box.appendChild(div);
  });
  document.addEventListener("htmx:afterSwap", function (ev) { updateCounts(ev.target); });
})();
