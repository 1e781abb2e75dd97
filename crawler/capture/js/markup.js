() => {
  const root = new DOMParser().parseFromString(document.documentElement.outerHTML, 'text/html').documentElement;
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  const prose = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement && node.parentElement.localName;
    if (!['script', 'noscript', 'style', 'template'].includes(parent)) prose.push(node);
  }
  prose.forEach(node => node.remove());
  return '<!doctype html>' + root.outerHTML;
}
