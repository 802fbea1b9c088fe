// Choosing another Level re-renders the form with that Level's layout: the form is
// posted with _level_switch set, the server saves nothing and keeps every typed value.
// The redrawn form gives the focus back to the Level switch, so someone on the keyboard
// carries on from where they were instead of from the top of the page.
document.addEventListener('DOMContentLoaded', function () {
  var level = document.querySelector('select[data-level-switch]');
  var switched = null;
  try {
    switched = window.sessionStorage.getItem('dictadmin-level-switched');
    window.sessionStorage.removeItem('dictadmin-level-switched');
  } catch (e) { /* storage refused: the focus starts at the top */ }
  if (!level) { return; }
  if (switched === level.name) { level.focus(); }
  level.addEventListener('change', function () {
    var form = level.form;
    form.querySelector('input[name="_level_switch"]').value = '1';
    try {
      window.sessionStorage.setItem('dictadmin-level-switched', level.name);
    } catch (e) { /* as above */ }
    form.submit();
  });
});

// The reference lookups (Select2 3.5) as assistive technology reads them: the search box's
// combobox names the list it controls (ARIA 1.2 asks for aria-controls, Select2 gives only
// aria-owns), and the box that has the focus is named by its field's label followed by the
// value chosen (Select2 names it by the value alone).
(function () {
  function nameLookups() {
    Array.prototype.forEach.call(document.querySelectorAll('.select2-input[aria-owns]'),
      function (search) { search.setAttribute('aria-controls', search.getAttribute('aria-owns')); });
    Array.prototype.forEach.call(document.querySelectorAll('.select2-focusser[id]'),
      function (focusser) {
        var label = document.querySelector('label[for="' + focusser.id + '"]');
        var chosen = focusser.getAttribute('aria-labelledby') || '';
        if (!label || chosen.indexOf(' ') !== -1) { return; }
        if (!label.id) { label.id = focusser.id + '-label'; }
        focusser.setAttribute('aria-labelledby', label.id + ' ' + chosen);
      });
  }
  window.addEventListener('load', nameLookups);
  document.addEventListener('focusin', function (event) {
    if (event.target.classList && (event.target.classList.contains('select2-focusser') ||
                                   event.target.classList.contains('select2-input'))) {
      nameLookups();
    }
  });
}());

// A pop-up (a Bootstrap modal) that someone on the keyboard can use and leave: its first
// button has the focus when it opens, Tab and Shift+Tab go round its buttons only, Esc
// closes it (Bootstrap), and once closed the focus is back where it was, or on `fallback`
// when the pop-up opened by itself with the page.
function keepFocusIn(dialog, first, fallback) {
  var $ = window.jQuery;
  var returnTo = null;
  $(dialog).on('show.bs.modal', function () {
    var at = document.activeElement;
    returnTo = at && at !== document.body && !dialog.contains(at) ? at : null;
  });
  $(dialog).on('shown.bs.modal', function () { first.focus(); });
  dialog.addEventListener('keydown', function (event) {
    if (event.key !== 'Tab') { return; }
    var stops = Array.prototype.filter.call(
      dialog.querySelectorAll('button, [href], input, select, textarea, [tabindex]:not([tabindex="-1"])'),
      function (stop) { return !stop.disabled && stop.offsetParent !== null; });
    if (!stops.length) { return; }
    var at = document.activeElement;
    if (event.shiftKey && (at === stops[0] || at === dialog)) {
      event.preventDefault();
      stops[stops.length - 1].focus();
    } else if (!event.shiftKey && at === stops[stops.length - 1]) {
      event.preventDefault();
      stops[0].focus();
    }
  });
  $(dialog).on('hidden.bs.modal', function () {
    var target = returnTo && document.body.contains(returnTo) ? returnTo : fallback;
    returnTo = null;
    if (target) { target.focus(); }
  });
}

// News in a pop-up: each item a section with its record's name and its text, put in as
// text only (News is user data). `kind` names the classes: ticket-news for News when a
// ticket is logged, closure-news for News on Closure (whose text reads as the other's).
function fillNews(body, items, kind) {
  body.textContent = '';
  items.forEach(function (item) {
    var section = document.createElement('section');
    section.className = kind + '-item';
    var title = document.createElement('h6');
    title.className = kind + '-title';
    title.textContent = item.title;
    var text = document.createElement('p');
    text.className = kind + '-text' + (kind === 'ticket-news' ? '' : ' ticket-news-text');
    text.textContent = item.text;
    section.appendChild(title);
    section.appendChild(text);
    body.appendChild(section);
  });
}

// A job (a seed check or load, rewriting search keys) runs on after its page answered:
// follow its progress, then show its report (templates/dictadmin/job_parts.html).
document.addEventListener('DOMContentLoaded', function () {
  var bar = document.querySelector('progress[data-progress-of]');
  if (!bar) { return; }
  var prefix = bar.dataset.progressOf;
  function poll() {
    fetch(bar.dataset.url, {headers: {'Accept': 'application/json'}})
      .then(function (response) { return response.json(); })
      .then(function (job) {
        if (job.status !== 'queued' && job.status !== 'running') {
          window.location.reload();
          return;
        }
        bar.max = Math.max(job.total, 1);
        bar.value = job.done;
        document.getElementById(prefix + '-done').textContent = job.done;
        document.getElementById(prefix + '-total').textContent = job.total;
        window.setTimeout(poll, 1000);
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  window.setTimeout(poll, 500);
});

// Logging a ticket: choosing the customer brings its flagged fields forward, its News
// (in a pop-up), a passed expiry date, its SLA's due times and its contacts. What the
// server sends is user data: it goes into the page only as text (value, textContent,
// new Option), never as HTML.
document.addEventListener('DOMContentLoaded', function () {
  var form = document.getElementById('ticket-form');
  if (!form || !window.jQuery) { return; }
  var $ = window.jQuery;
  var news = document.getElementById('ticket-news');
  var customer = form.querySelector('input[name="customer"]');
  if (news) {
    // Opened with the page (a customer chosen before): closed, the focus goes to the
    // ticket's first field to fill in, the Summary.
    keepFocusIn(news, document.getElementById('ticket-news-ok'),
                form.elements.summary || null);
    if (news.dataset.showOnLoad === '1') { $(news).modal('show'); }
  }
  if (!customer) { return; }  // a logged ticket keeps its customer

  function setText(id, text) {
    var element = document.getElementById(id);
    if (element) { element.textContent = text; }
  }

  // By the control the field's type chose (the server sends each value as that control
  // takes it), so a new type needs nothing here.
  function fillField(item) {
    var input = form.elements[item.field];
    if (!input) { return; }
    if (input.type === 'checkbox') {
      input.checked = Boolean(item.value);
    } else if (input.dataset && input.dataset.role === 'select2-ajax') {  // a lookup
      $(input).select2('data', item.value ? {id: item.value.id, text: item.value.text} : null);
    } else if (input.multiple) {
      var chosen = Array.isArray(item.value) ? item.value.map(String) : [];
      Array.prototype.forEach.call(input.options, function (option) {
        option.selected = chosen.indexOf(option.value) !== -1;
      });
    } else {
      input.value = item.value === null ? '' : String(item.value);
    }
  }

  function fillContacts(contacts) {
    var select = form.elements.contact;
    if (!select) { return; }
    while (select.options.length > 1) { select.remove(1); }  // keep "(none)"
    contacts.forEach(function (contact) { select.add(new Option(contact.name, contact.id)); });
  }

  function fillExpiry(expired) {
    var box = document.getElementById('ticket-expiry');
    box.textContent = '';
    expired.forEach(function (expiry) {
      var alert = document.createElement('div');
      alert.className = 'alert alert-warning';
      alert.setAttribute('role', 'alert');
      alert.textContent = expiry.message;
      box.appendChild(alert);
    });
  }

  function showNews(items) {
    fillNews(document.getElementById('ticket-news-body'), items, 'ticket-news');
    if (items.length) { $(news).modal('show'); }
  }

  function fill(facts) {
    facts.brought_forward.forEach(fillField);
    fillContacts(facts.contacts);
    fillExpiry(facts.expired);
    setText('ticket-sla-name', facts.sla);
    setText('ticket-response-due', facts.response_due);
    setText('ticket-resolution-due', facts.resolution_due);
    showNews(facts.news);
  }

  function failed() {
    fillExpiry([{message: 'The chosen record\'s details could not be loaded; ' +
                          'check the brought-forward fields before saving.'}]);
  }

  // Select2 announces a choice with a jQuery change event on the hidden input.
  $(customer).on('change', function () {
    var id = customer.value;
    if (!id || id === '__None') { return; }
    fetch(form.dataset.factsUrl + '?id=' + encodeURIComponent(id),
          {headers: {'Accept': 'application/json'}, credentials: 'same-origin'})
      .then(function (response) {
        if (!response.ok) { throw new Error('HTTP ' + response.status); }
        return response.json();
      })
      .then(fill)
      .catch(failed);
  });
});

// Closing a ticket: choosing Closed on an open (or new) ticket pops up the News on Closure of
// its customer and of the customer's Org, before the save that closes it sends the closure
// notice. The page holds the news of the customer it was drawn for; another customer's
// (chosen on a new ticket) comes from the closure-news endpoint and goes in as text only.
// Showing it puts its token in the form: the server closes the ticket only with the token
// of the news as it stands, and otherwise shows the news on the page first.
document.addEventListener('DOMContentLoaded', function () {
  var form = document.getElementById('ticket-form');
  var dialog = document.getElementById('ticket-closure-news');
  if (!form || !dialog || !window.jQuery) { return; }
  var $ = window.jQuery;
  var status = form.elements.status;
  var seen = form.elements.closure_news_seen;
  var customer = form.querySelector('input[name="customer"]');  // none on a logged ticket
  var body = document.getElementById('ticket-closure-news-body');
  var ok = document.getElementById('ticket-closure-news-ok');
  var asked = 0;  // a late answer about a customer chosen before the last one is dropped

  function closes() {
    return status.value === 'closed' && form.dataset.storedStatus !== 'closed';
  }

  function fill(news) {
    fillNews(body, news.news, 'closure-news');
    document.getElementById('ticket-closure-news-title').textContent = news.heading;
    dialog.dataset.customer = news.customer;
    dialog.dataset.token = news.token;
  }

  function open() {
    if (!body.children.length) { return; }  // no News on Closure: no pop-up
    seen.value = dialog.dataset.token;
    var other = document.querySelector('.modal.show');  // the News pop-up, still open
    if (other && other !== dialog) {
      $(other).one('hidden.bs.modal', function () { $(dialog).modal('show'); });
    } else {
      $(dialog).modal('show');
    }
  }

  // Keyboard: closed, the focus returns to where it was, the Status field (also when the
  // pop-up opened with the page).
  keepFocusIn(dialog, ok, status);

  function show() {
    if (!closes()) { return; }
    var id = customer ? customer.value : dialog.dataset.customer;
    if (!id || id === '__None') { return; }
    if (id === dialog.dataset.customer) { open(); return; }
    var mine = ++asked;
    fetch(dialog.dataset.url + '?customer=' + encodeURIComponent(id),
          {headers: {'Accept': 'application/json'}, credentials: 'same-origin'})
      .then(function (response) {
        if (!response.ok) { throw new Error('HTTP ' + response.status); }
        return response.json();
      })
      .then(function (news) {
        if (mine !== asked) { return; }
        fill(news);
        if (closes()) { open(); }
      })
      // Not loaded: the closing save is stopped and the page shows the news instead.
      .catch(function () {});
  }

  status.addEventListener('change', show);
  if (customer) { $(customer).on('change', show); }
  // Another customer chosen while Closed is chosen: its News waits for this pop-up to close.
  var news = document.getElementById('ticket-news');
  if (news) {
    $(news).on('show.bs.modal', function (event) {
      if (!dialog.classList.contains('show')) { return; }
      event.preventDefault();
      $(dialog).one('hidden.bs.modal', function () { $(news).modal('show'); });
    });
  }
  if (dialog.dataset.showOnLoad === '1') { open(); }
});

// The Content-Security-Policy allows no inline script, so what Flask-Admin's templates did
// in onclick="…" attributes is done here, from data- attributes (templates/admin/…).
// Listening on the document in the capture phase sees every click first, whatever a
// widget does with the event afterwards.
document.addEventListener('click', function (event) {
  var target = event.target.closest ? event.target.closest('a, button, input') : null;
  if (!target) { return; }
  // A button that asks first (Revert, Flask-Admin's delete): no answer, no submit.
  var question = target.getAttribute('data-confirm');
  if (question !== null && !window.confirm(question)) {
    event.preventDefault();
    event.stopPropagation();
    return;
  }
  if (target.tagName !== 'A') { return; }
  var href = target.getAttribute('href') || '';
  // Links that only open a menu or act in the page: following "javascript:void(0)" would be
  // a CSP violation, following "#" would jump to the top.
  if (href.indexOf('javascript:') === 0 || (href === '#' && target.getAttribute('role') === 'button')) {
    event.preventDefault();
  }
  // A list action ("With selected" menu): Flask-Admin's actions.js does the work.
  var action = target.getAttribute('data-model-action');
  if (action !== null && window.modelActions) {
    window.modelActions.execute(action);
  }
  // "Add …" below an inline list: Flask-Admin's form.js adds the sub-form.
  var inline = target.getAttribute('data-add-inline-field');
  if (inline !== null && window.faForm) {
    window.faForm.addInlineField(target, inline);
  }
}, true);
