// Renders /api/v1/openapi.json as a list of operations; text only (textContent), no HTML from
// the document, so the page keeps the strict Content-Security-Policy.
"use strict";
(function () {
  const root = document.getElementById("api-docs");
  if (!root) return;

  function el(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined) node.textContent = text;
    if (className) node.className = className;
    return node;
  }

  function render(spec) {
    root.textContent = "";
    const groups = {};
    Object.entries(spec.paths || {}).forEach(([path, methods]) => {
      Object.entries(methods).forEach(([method, op]) => {
        const tag = (op.tags || ["other"])[0];
        (groups[tag] = groups[tag] || []).push([method, path, op]);
      });
    });
    Object.keys(groups).sort().forEach((tag) => {
      const section = el("section", undefined, "api-group");
      section.appendChild(el("h2", tag));
      groups[tag].forEach(([method, path, op]) => {
        const item = el("article", undefined, "api-op");
        const head = el("h3");
        head.appendChild(el("code", method.toUpperCase() + " " + path));
        item.appendChild(head);
        item.appendChild(el("p", op.summary || ""));
        if (op.description) item.appendChild(el("p", op.description, "muted"));
        const codes = Object.keys(op.responses || {}).join(", ");
        item.appendChild(el("p", "Responses: " + codes, "muted"));
        section.appendChild(item);
      });
      root.appendChild(section);
    });
  }

  fetch(root.dataset.specUrl, { headers: { Accept: "application/json" } })
    .then((response) => response.json())
    .then(render)
    .catch(() => {
      root.textContent = "The reference could not be loaded; open openapi.json instead.";
    });
})();
