// ESLint for the page (frontend/): plain ES modules run by the browser as they are (no build step), so the browser's
// globals and nothing of Node's. `make lint` runs it; the packages are pinned in package-lock.json.
import js from "@eslint/js";
import globals from "globals";

const HTML_PARSING = "Build elements with h() (dom.js) or set textContent: no HTML parsed from strings.";

export default [
  js.configs.recommended,
  {
    files: ["frontend/**/*.js"],
    languageOptions: { ecmaVersion: 2024, sourceType: "module", globals: globals.browser },
    rules: {
      eqeqeq: ["error", "always", { null: "ignore" }],  // `== null` is the one loose comparison the page uses
      "no-unused-vars": ["error", { args: "after-used" }],
      "no-var": "error",
      "prefer-const": "error",
      "no-implicit-globals": "error",
      // each module readable in one sitting, each function at a glance (the same bounds as the Python's)
      "max-lines": ["error", { max: 250, skipBlankLines: true, skipComments: true }],
      "max-lines-per-function": ["error", { max: 50, skipBlankLines: true, skipComments: true }],
      complexity: ["error", 12],
      "no-restricted-properties": ["error",  // the page's one rendering rule (dom.js): no HTML parsed from strings
        ...["innerHTML", "outerHTML", "insertAdjacentHTML"].map((property) => ({ property, message: HTML_PARSING })),
        { object: "document", property: "write", message: HTML_PARSING }],
    },
  },
];
