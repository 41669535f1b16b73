// Elements built from data. Every value becomes a text node or an attribute, never parsed as HTML, so nothing
// the server sends (a file name, a label, an error, a reason) can add markup or script to the page.

/** h("a", {href: "#x", class: "moment"}, "0:01.5", ...): an element with attributes and text or element children. */
export function h(name, attributes = {}, ...children) {
  const node = document.createElement(name);
  for (const [key, value] of Object.entries(attributes)) {
    if (value != null && value !== false) node.setAttribute(key, value === true ? "" : String(value));
  }
  node.append(...children.flat().filter((child) => child != null && child !== false));
  return node;
}
