// The page's one rendering rule: elements are built from data with h(), and text is set with textContent. Every value
// becomes a text node or an attribute, never parsed as HTML, so nothing the server sends (a file name, a label, an
// error, a reason) can add markup or script to the page (tests/test_page_code.py keeps HTML parsing out of frontend/).

/** h("a", {href: "#x", class: "moment"}, "0:01.5", ...): an element with attributes and text or element children. */
export function h(name, attributes = {}, ...children) {
  const node = document.createElement(name);
  for (const [key, value] of Object.entries(attributes)) {
    if (value != null && value !== false) node.setAttribute(key, value === true ? "" : String(value));
  }
  node.append(...children.flat().filter((child) => child != null && child !== false));
  return node;
}

/** A plain button that runs ``onClick``. */
export function button(label, onClick, attributes = {}) {
  const node = h("button", { type: "button", ...attributes }, label);
  node.addEventListener("click", onClick);
  return node;
}

export const $ = (selector) => document.querySelector(selector);
export function show(selector, visible = true) { $(selector).hidden = !visible; }
export function text(selector, value) { $(selector).textContent = value; }
