// Progressive enhancement of the review page: without this script every form still works.
// With it a save goes through fetch, the server answers with the one segment's HTML, which
// replaces the old one; the preview beside it is fetched again. No page reload.
"use strict";

(function () {
  function segments() { return Array.from(document.querySelectorAll("section.segment")); }

  function current() {
    var active = document.activeElement;
    return active && active.closest ? active.closest("section.segment") : null;
  }

  function focusSegment(section) {
    if (!section) { return; }
    var field = section.querySelector("textarea");
    (field || section).focus();
    section.scrollIntoView({ block: "nearest" });
  }

  function move(step) {
    var all = segments();
    var here = all.indexOf(current());
    var next = here < 0 ? (step > 0 ? 0 : all.length - 1) : here + step;
    if (next >= 0 && next < all.length) { focusSegment(all[next]); }
  }

  function recount() {
    document.querySelectorAll(".counts [data-status]").forEach(function (badge) {
      var n = document.querySelectorAll("section.segment." + badge.dataset.status).length;
      badge.querySelector(".n").textContent = String(n);
    });
  }

  function refreshPreview() {
    var aside = document.getElementById("preview");
    var main = document.querySelector("main.segments");
    if (!aside || !main) { return; }
    var part = aside.querySelector("select[name=part]");
    var url = "/letters/" + encodeURIComponent(main.dataset.letter) + "/" +
      encodeURIComponent(main.dataset.language) + "/preview?to=" +
      encodeURIComponent(main.dataset.recipient) + "&part=" + encodeURIComponent(part ? part.value : "");
    aside.classList.add("busy");
    fetch(url, { credentials: "same-origin" }).then(function (response) {
      return response.ok ? response.text() : Promise.reject(response.status);
    }).then(function (html) {
      var holder = document.createElement("div");
      holder.innerHTML = html;
      var fresh = holder.querySelector("aside.preview");
      if (fresh) { aside.replaceWith(fresh); }
    }).catch(function () { aside.classList.remove("busy"); });
  }

  function submit(form, action) {
    var section = form.closest("section.segment");
    var data = new URLSearchParams(new FormData(form));
    data.set("action", action);
    form.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
    // form.action would be the buttons named "action": read the attribute itself.
    fetch(form.getAttribute("action"), {
      method: "POST", credentials: "same-origin", body: data,
      headers: { "X-Requested-With": "pactdocs" }
    }).then(function (response) {
      var version = response.headers.get("X-Catalog-Version");
      return response.text().then(function (html) { return [response, html, version]; });
    }).then(function (result) {
      var response = result[0], html = result[1], version = result[2];
      var holder = document.createElement("div");
      holder.innerHTML = html;
      var fresh = holder.querySelector("section.segment");
      if (!fresh) { throw new Error(html); }
      section.replaceWith(fresh);
      if (version) {
        var owner = version.split(" ")[0], sha = version.split(" ")[1];
        // Our own save changed the file: the other forms of that catalog may save over it.
        segments().forEach(function (s) {
          if (s.dataset.owner === owner && response.ok) {
            s.querySelector("input[name=version]").value = sha;
          }
        });
      }
      focusSegment(fresh);
      recount();
      if (response.ok) { refreshPreview(); }
    }).catch(function (error) {
      form.querySelectorAll("button").forEach(function (b) { b.disabled = false; });
      window.alert("Not saved: " + error);
    });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.classList || !form.classList.contains("edit")) { return; }
    event.preventDefault();
    var button = event.submitter;
    submit(form, button && button.value ? button.value : "save");
  });

  document.addEventListener("keydown", function (event) {
    if (event.altKey && !event.ctrlKey && !event.shiftKey &&
        (event.key === "ArrowDown" || event.key === "ArrowUp")) {
      event.preventDefault();
      move(event.key === "ArrowDown" ? 1 : -1);
      return;
    }
    if (event.key !== "Enter") { return; }
    var section = current();
    if (!section) { return; }
    var form = section.querySelector("form.edit");
    var action = null;
    if (event.ctrlKey && event.shiftKey && !event.altKey) { action = "approve"; }
    else if (event.ctrlKey && !event.shiftKey && !event.altKey) { action = "save"; }
    else if (event.altKey && event.shiftKey && !event.ctrlKey) { action = "review"; }
    if (action && form) {
      event.preventDefault();
      submit(form, action);
    }
  });
}());
