// Run in every document before its own scripts (an init script): after MAX_DIALOGS dialogs
// (alert, confirm, prompt, print) a document's further ones return at once as if dismissed, and
// after MAX_POPUPS window.open calls it gets no more windows (null, as a popup blocker answers).
// The first ones reach the browser, so the crawler records them (and dismisses or closes them).
(() => {
  const caps = [['alert', 'MAX_DIALOGS', undefined], ['confirm', 'MAX_DIALOGS', false],
                ['prompt', 'MAX_DIALOGS', null], ['print', 'MAX_DIALOGS', undefined],
                ['open', 'MAX_POPUPS', null]];
  const limits = {MAX_DIALOGS: __MAX_DIALOGS__, MAX_POPUPS: __MAX_POPUPS__};
  const used = {MAX_DIALOGS: 0, MAX_POPUPS: 0};
  for (const [name, limit, refused] of caps) {
    const original = window[name];
    if (typeof original !== 'function') continue;
    window[name] = new Proxy(original, {
      apply(target, self, args) {
        if (++used[limit] > limits[limit]) return refused;
        return Reflect.apply(target, self, args);
      },
    });
  }
})();
