// Progressive enhancement of the certification queue; without this file every action is a
// button of the page's form and works the same.
// - After a decision the server returns to the list at #item-<pk>: that item gets the focus,
//   so the keyboard carries on from the next item.
// - Keys, announced on the page once this file runs: J next item, K previous item,
//   C certify the item in view, R open its reject form, X tick it. They do nothing while
//   the focus is in a field (typing a reason) or with Ctrl, Alt or Meta held.
// - Enter in a tick box or a reason does not send the queue's form (without this file the
//   server answers such a post by doing nothing).
// - A page that comes back with an error summary puts the focus on it.
(function () {
  "use strict";

  // A refused form comes back with its error summary: the keyboard starts there (the
  // summary's autofocus alone is not always honoured).
  const summary = document.getElementById("error-summary");
  if (summary) summary.focus();

  const items = Array.from(document.querySelectorAll("[data-item]"));
  if (!items.length) return;
  let current = null;

  function focusItem(item) {
    if (!item) return;
    current = item;
    item.focus();
    item.scrollIntoView({ block: "start" });
  }

  function itemOf(element) {
    return element && element.closest ? element.closest("[data-item]") : null;
  }

  // In a field (a reason, a text box, a list) keys type; only the item's own "select" box
  // and the buttons leave them to us.
  function typing(element) {
    if (!element) return false;
    const tag = element.tagName;
    if (tag === "INPUT") return !element.hasAttribute("data-key-select");
    return element.isContentEditable || tag === "TEXTAREA" || tag === "SELECT";
  }

  function move(step) {
    const here = itemOf(document.activeElement) || current;
    const index = here ? items.indexOf(here) : -1;
    const next = index === -1 ? (step > 0 ? items[0] : items[items.length - 1]) : items[index + step];
    focusItem(next);
  }

  function act(key) {
    const item = itemOf(document.activeElement) || current;
    if (!item) return false;
    if (key === "c") {
      const button = item.querySelector("[data-key-certify]");
      if (button) button.click();
      return Boolean(button);
    }
    if (key === "r") {
      const details = item.querySelector("[data-key-reject]");
      if (!details) return false;
      details.open = true;
      const first = details.querySelector("input, textarea");
      if (first) first.focus();
      return true;
    }
    if (key === "x") {
      const box = item.querySelector("[data-key-select]");
      if (box) box.checked = !box.checked;
      return Boolean(box);
    }
    return false;
  }

  const form = document.getElementById("queue-form");
  if (form) {
    form.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && event.target.tagName === "INPUT") event.preventDefault();
    });
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.altKey || event.metaKey || typing(event.target)) return;
    const key = event.key.toLowerCase();
    let handled = false;
    if (key === "j") {
      move(1);
      handled = true;
    } else if (key === "k") {
      move(-1);
      handled = true;
    } else if (key === "c" || key === "r" || key === "x") {
      handled = act(key);
    }
    if (handled) event.preventDefault();
  });

  document.addEventListener("focusin", function (event) {
    current = itemOf(event.target) || current;
  });

  const help = document.querySelector("[data-keys-help]");
  if (help) help.hidden = false;

  const match = /^#item-(\d+)$/.exec(window.location.hash);
  if (match && !summary) focusItem(document.getElementById("item-" + match[1]));
})();
