() => ({
  // <a>/<area> and <link> hrefs, and the <script src> with a declared type (the capture keeps
  // those whose type is not JavaScript: the browser did not load them).
  links: Array.from(document.querySelectorAll('a[href], area[href], link[href], script[src][type]'), el => {
    if (el.localName === 'script') return ['script', el.src, null, el.getAttribute('type')];
    return [el.localName === 'link' ? 'link' : 'a', el.href, el.getAttribute('rel'), null];
  }),
  forms: Array.from(document.forms, form => {
    const sensitive = [];
    if (form.querySelector('input[type=password]')) sensitive.push('password');
    const card = /cc-?(number|csc|exp)|card.?(num|no)|cvc|cvv|security.?code/i;
    if (Array.from(form.elements).some(el => card.test([el.name, el.id, el.autocomplete].join(' '))))
      sensitive.push('payment card');
    return [form.action, (form.method || 'get').toLowerCase(), sensitive];
  }),
})
