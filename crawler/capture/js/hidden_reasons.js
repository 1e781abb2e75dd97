function () {
  const reasons = [];
  const rect = this.getBoundingClientRect();
  const width = Math.min(rect.width, this.clientWidth), height = Math.min(rect.height, this.clientHeight);
  if (width <= 1 || height <= 1) reasons.push(`size ${Math.round(width)}x${Math.round(height)}`);
  for (let el = this; el && el.nodeType === 1; el = el.parentElement) {
    const style = getComputedStyle(el);
    const where = el === this ? '' : ' (ancestor)';
    if (style.display === 'none') { reasons.push('display:none' + where); break; }
    if (style.visibility === 'hidden' || style.visibility === 'collapse') { reasons.push('visibility:hidden' + where); break; }
    if (parseFloat(style.opacity) === 0) { reasons.push('opacity:0' + where); break; }
  }
  const root = this.ownerDocument.documentElement;
  const pageWidth = Math.max(root.scrollWidth, innerWidth), pageHeight = Math.max(root.scrollHeight, innerHeight);
  const left = rect.left + scrollX, top = rect.top + scrollY;
  if (rect.width > 0 && rect.height > 0 &&
      (left + rect.width <= 0 || top + rect.height <= 0 || left >= pageWidth || top >= pageHeight)) reasons.push('off-screen');
  return reasons;
}
