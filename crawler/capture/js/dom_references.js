() => ({
  links: Array.from(document.querySelectorAll('a[href], area[href], link[href]'),
    el => [el.localName === 'link' ? 'link' : 'a', el.href, el.getAttribute('rel')]),
  forms: Array.from(document.forms, form => {
    const sensitive = [];
    if (form.querySelector('input[type=password]')) sensitive.push('password');
    const card = /cc-?(number|csc|exp)|card.?(num|no)|cvc|cvv|security.?code/i;
    if (Array.from(form.elements).some(el => card.test([el.name, el.id, el.autocomplete].join(' '))))
      sensitive.push('payment card');
    return [form.action, (form.method || 'get').toLowerCase(), sensitive];
  }),
})
