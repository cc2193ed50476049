// Progressive enhancement of the upload forms; without this file they work as plain posts
// and the server says the same things.
// - A live character counter under textareas with data-counter-max (counted as the server
//   counts: trimmed, code points, a line break as one character).
// - A file over its field's data-max-bytes is flagged as soon as it is chosen, and the form
//   is not sent with it.
// - Forms with data-upload are sent with XMLHttpRequest to show a progress bar. The server
//   answers JSON {redirect} on success (we go there) or the page with its errors (we put its
//   <main> in place of ours and move focus to the error summary). A redirect elsewhere
//   (signed out, say) is followed.
(function () {
  "use strict";

  function format(template, values) {
    return template.replace(/\{(\w+)\}/g, function (match, key) {
      return key in values ? String(values[key]) : match;
    });
  }

  function charCount(text) {
    return Array.from(text.replace(/\r\n?/g, "\n").trim()).length;
  }

  // Rounded up, so that a file just over a limit never reads as the limit itself.
  function sizeText(bytes) {
    const mb = bytes / (1024 * 1024);
    const shown = mb >= 10 ? Math.ceil(mb) : Math.ceil(mb * 10) / 10;
    return String(shown) + " MB";
  }

  // --- the character counter -------------------------------------------------------------

  function setUpCounter(textarea) {
    const max = parseInt(textarea.dataset.counterMax, 10);
    if (!max || textarea.dataset.counterReady) return;
    textarea.dataset.counterReady = "1";
    const visible = document.createElement("p");
    visible.className = "char-counter";
    visible.id = textarea.id + "_counter";
    visible.setAttribute("aria-hidden", "true");
    // Screen readers hear the count once typing pauses, not at every key.
    const spoken = document.createElement("p");
    spoken.className = "visually-hidden";
    spoken.setAttribute("aria-live", "polite");
    textarea.insertAdjacentElement("afterend", spoken);
    textarea.insertAdjacentElement("afterend", visible);
    const describedBy = (textarea.getAttribute("aria-describedby") || "").split(" ");
    describedBy.push(visible.id);
    textarea.setAttribute("aria-describedby", describedBy.filter(Boolean).join(" "));
    let timer = null;

    function message() {
      const left = max - charCount(textarea.value);
      if (left >= 0) {
        return format(left === 1 ? textarea.dataset.counterLeftOne : textarea.dataset.counterLeft, { n: left });
      }
      return format(-left === 1 ? textarea.dataset.counterOverOne : textarea.dataset.counterOver, { n: -left });
    }

    function update() {
      const text = message();
      visible.textContent = text;
      visible.classList.toggle("over", charCount(textarea.value) > max);
      window.clearTimeout(timer);
      timer = window.setTimeout(function () {
        spoken.textContent = text;
      }, 1000);
    }

    textarea.addEventListener("input", update);
    visible.textContent = message();
    visible.classList.toggle("over", charCount(textarea.value) > max);
  }

  // --- files over the limit ---------------------------------------------------------------

  function tooLargeText(input) {
    const box = input.form && input.form.querySelector("[data-progress]");
    const template = box ? box.dataset.textTooLarge : "{size} > {max}";
    const max = parseInt(input.dataset.maxBytes, 10);
    const file = input.files && input.files[0];
    if (!file || !max || file.size <= max) return "";
    return format(template, { size: sizeText(file.size), max: sizeText(max) });
  }

  function checkFile(input) {
    let warning = document.getElementById(input.id + "_toolarge");
    const text = tooLargeText(input);
    if (!text) {
      if (warning) warning.remove();
      input.removeAttribute("aria-invalid");
      return true;
    }
    if (!warning) {
      warning = document.createElement("p");
      warning.id = input.id + "_toolarge";
      warning.className = "file-warning";
      warning.setAttribute("role", "alert");
      input.insertAdjacentElement("afterend", warning);
      const describedBy = (input.getAttribute("aria-describedby") || "").split(" ");
      describedBy.push(warning.id);
      input.setAttribute("aria-describedby", describedBy.filter(Boolean).join(" "));
    }
    warning.textContent = text;
    input.setAttribute("aria-invalid", "true");
    return false;
  }

  // --- sending with a progress bar ----------------------------------------------------------

  function withoutHash(url) {
    const parsed = new URL(url, window.location.href);
    parsed.hash = "";
    return parsed.href;
  }

  function replaceMain(html) {
    const doc = new DOMParser().parseFromString(html, "text/html");
    const fresh = doc.querySelector("main");
    const current = document.querySelector("main");
    if (!fresh || !current) return false;
    current.replaceWith(document.adoptNode(fresh));
    if (doc.title) document.title = doc.title;
    setUp(fresh);
    const summary = fresh.querySelector("#error-summary, [role=alert]");
    (summary || fresh).focus();
    return true;
  }

  function sendWithProgress(form, submitter) {
    const box = form.querySelector("[data-progress]");
    const bar = box.querySelector("progress");
    const text = box.querySelector("[data-progress-text]");
    const buttons = Array.from(form.querySelectorAll("button[type=submit], button:not([type])"));
    const data = new FormData(form);
    if (submitter && submitter.name) data.append(submitter.name, submitter.value);
    // getAttribute: a control named "action" (our submit buttons) shadows form.action.
    const target = withoutHash(form.getAttribute("action") || window.location.href);
    let lastSpoken = -10;

    function busy(on) {
      buttons.forEach(function (button) {
        button.disabled = on;
      });
      form.setAttribute("aria-busy", on ? "true" : "false");
    }

    function failed() {
      busy(false);
      bar.value = 0;
      text.textContent = box.dataset.textFailed;
      text.classList.add("upload-error");
    }

    const xhr = new XMLHttpRequest();
    xhr.open("POST", target);
    xhr.setRequestHeader("X-Requested-With", "XMLHttpRequest");
    xhr.upload.addEventListener("progress", function (event) {
      if (!event.lengthComputable) return;
      const percent = Math.floor((event.loaded / event.total) * 100);
      bar.value = percent;
      if (percent - lastSpoken >= 10 || percent === 100) {
        lastSpoken = percent;
        text.textContent = format(box.dataset.textProgress, { percent: percent + "%" });
      }
    });
    xhr.upload.addEventListener("load", function () {
      bar.value = 100;
      text.textContent = box.dataset.textProcessing;
    });
    xhr.addEventListener("load", function () {
      const type = xhr.getResponseHeader("Content-Type") || "";
      if (xhr.status === 200 && type.indexOf("application/json") === 0) {
        const answer = JSON.parse(xhr.responseText);
        window.location.assign(answer.redirect);
        return;
      }
      if (xhr.responseURL && withoutHash(xhr.responseURL) !== target) {
        window.location.assign(xhr.responseURL);
        return;
      }
      if (xhr.status === 200 && type.indexOf("text/html") === 0 && replaceMain(xhr.responseText)) {
        return;
      }
      failed();
    });
    xhr.addEventListener("error", failed);
    xhr.addEventListener("abort", failed);
    xhr.addEventListener("timeout", failed);

    text.classList.remove("upload-error");
    text.textContent = format(box.dataset.textProgress, { percent: "0%" });
    bar.value = 0;
    box.hidden = false;
    busy(true);
    xhr.send(data);
  }

  function setUpForm(form) {
    if (form.dataset.uploadReady) return;
    form.dataset.uploadReady = "1";
    form.addEventListener("submit", function (event) {
      const files = Array.from(form.querySelectorAll("input[type=file][data-max-bytes]"));
      const bad = files.filter(function (input) {
        return !checkFile(input);
      });
      if (bad.length) {
        event.preventDefault();
        bad[0].focus();
        return;
      }
      if (!window.FormData || !window.XMLHttpRequest || !form.querySelector("[data-progress]")) {
        return; // a plain post
      }
      event.preventDefault();
      sendWithProgress(form, event.submitter);
    });
  }

  function setUp(root) {
    root.querySelectorAll("textarea[data-counter-max]").forEach(setUpCounter);
    root.querySelectorAll("input[type=file][data-max-bytes]").forEach(function (input) {
      input.addEventListener("change", function () {
        checkFile(input);
      });
    });
    root.querySelectorAll("form[data-upload]").forEach(setUpForm);
  }

  setUp(document);
})();
