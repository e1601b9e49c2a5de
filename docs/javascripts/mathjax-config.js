// MathJax 3 (bundled: docs/javascripts/tex-svg.js, Apache-2.0) for the formulas that
// pymdownx.arithmatex marks as \( ... \) and \[ ... \]; SVG output needs no font files, so
// the site works offline and from any folder.
window.MathJax = {
  tex: {
    inlineMath: [["\\(", "\\)"]],
    displayMath: [["\\[", "\\]"]],
    processEscapes: true,
    processEnvironments: true,
  },
  options: {
    ignoreHtmlClass: ".*|",
    processHtmlClass: "arithmatex",
    enableMenu: false,
  },
  svg: { fontCache: "global" },
};
