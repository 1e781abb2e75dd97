() => Array.from(document.scripts, el => [
  // [absolute src or null, type, integrity, the inline text (null for external scripts; at most 1 MB)]
  el.hasAttribute('src') ? el.src : null,
  el.getAttribute('type'),
  el.getAttribute('integrity'),
  el.hasAttribute('src') ? null : el.text.slice(0, 1048576),
])
