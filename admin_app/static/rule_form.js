// A record form follows the conditional rules as its values change, without a reload: the
// admin's record forms and the portal's My details. The server lays the page out for the
// record's state (forms/records.py `RuledRecord`) and puts the entity's rules and the
// form's facts in two JSON data blocks; on every input or change this reads the form's
// values as the rules compare them, asks conditions.js (the browser's copy of the one
// evaluator) for the state, and applies it field by field:
// - hidden: the field's group gets `hidden` (out of sight and of the keyboard order);
//   its control still posts the value, so hiding keeps it (a field showing the server's
//   refusal stays in sight);
// - mandatory: a star, `required` and aria-required;
// - read-only, on the values the form was opened with or on the current ones (the server
//   refuses a change in either state): text is `readonly`; a drop-down, a tick box or a
//   date picker is disabled and hidden copies post its value; a lookup's select2 is made
//   read-only. A field the user has already changed stays open, so it can be put back;
// - narrowed choices: a drop-down offers the allowed ones, the blank unless a value is
//   mandatory and chosen, and the current value even when no longer allowed, so that the
//   save names the rule rather than the value silently vanishing.
// Dictionary text reaches the page only as text (new Option, textContent).
// After each pass the form gets a `dictadmin:rules-applied` event (detail: the state).
(function () {
  'use strict';

  function own(object, key) {
    return object != null && Object.prototype.hasOwnProperty.call(object, key)
      ? object[key] : undefined;
  }

  function asSet(names) {
    var set = Object.create(null);
    (names || []).forEach(function (name) { set[name] = true; });
    return set;
  }

  // Values as the rules compare them, equal whatever the order of a multiple choice.
  function normal(value) {
    if (value === undefined || value === null || value === '' ||
        (Array.isArray(value) && value.length === 0)) { return null; }
    return Array.isArray(value) ? value.slice().sort() : value;
  }

  function sameValue(a, b) {
    return JSON.stringify(normal(a)) === JSON.stringify(normal(b));
  }

  function selectedValues(select) {
    var chosen = [];
    Array.prototype.forEach.call(select.options, function (option) {
      if (option.selected && option.value !== '') { chosen.push(option.value); }
    });
    return chosen;
  }

  // The control's value as JSON, as the server's `comparable` gives a stored value.
  function readValue(field) {
    var control = field.control;
    var text;
    switch (field.read) {
      case 'boolean':
        return control.checked;
      case 'multiple':
        return selectedValues(control);
      case 'reference':
        return control.value && control.value !== '__None' ? control.value : null;
      case 'number':
        text = control.value.trim();
        if (!text) { return null; }
        return isFinite(Number(text)) ? Number(text) : text;
      case 'email':
        return control.value.trim().toLowerCase() || null;
      default:
        return control.value.trim() || null;
    }
  }

  function describe(group) {
    var name = group.getAttribute('data-rule-field');
    var selector = '[name="' + (window.CSS && CSS.escape ? CSS.escape(name) : name) + '"]';
    var control = null;
    Array.prototype.some.call(group.querySelectorAll(selector), function (element) {
      if (!element.hasAttribute('data-rule-copy')) { control = element; }
      return control !== null;
    });
    if (!control) { return null; }
    return {
      name: name, group: group, control: control,
      read: group.getAttribute('data-rule-read'),
      lock: group.getAttribute('data-rule-lock'),
      label: group.querySelector('label'),
      // A field the server refused stays in sight with its message, whatever the rules.
      refused: group.querySelector('.invalid-feedback') !== null,
      mandatory: group.querySelector('[data-rule-star]') !== null,
      locked: control.hasAttribute('data-rule-locked'),
      options: null, offered: null
    };
  }

  function setHidden(field, hidden) {
    hidden = hidden && !field.refused;
    if (field.group.hidden !== hidden) { field.group.hidden = hidden; }
  }

  function setMandatory(field, mandatory) {
    if (field.mandatory === mandatory) { return; }
    field.mandatory = mandatory;
    var control = field.control;
    if (mandatory) {
      var star = document.createElement('strong');
      star.className = 'text-danger';
      star.setAttribute('data-rule-star', '');
      star.textContent = '*';
      if (field.label) { field.label.appendChild(star); }
      control.setAttribute('required', '');
      control.setAttribute('aria-required', 'true');
    } else {
      Array.prototype.forEach.call(field.group.querySelectorAll('[data-rule-star]'),
                                   function (star) { star.remove(); });
      control.removeAttribute('required');
      control.removeAttribute('aria-required');
    }
  }

  // What a disabled control would have posted.
  function postedValues(field) {
    var control = field.control;
    if (control.tagName === 'SELECT') { return selectedValues(control); }
    if (control.type === 'checkbox') { return control.checked ? [control.value] : []; }
    return [control.value];
  }

  function setLocked(field, locked) {
    if (field.locked === locked) { return; }
    field.locked = locked;
    var control = field.control;
    if (field.lock === 'disabled') {
      Array.prototype.forEach.call(field.group.querySelectorAll('[data-rule-copy]'),
                                   function (copy) { copy.remove(); });
      if (locked) {
        var after = control.nextSibling;
        postedValues(field).forEach(function (value) {
          var copy = document.createElement('input');
          copy.type = 'hidden';
          copy.name = field.name;
          copy.value = value;
          copy.setAttribute('data-rule-copy', '');
          control.parentNode.insertBefore(copy, after);
        });
      }
      control.disabled = locked;
    } else {
      control.readOnly = locked;
      var $ = window.jQuery;
      if (field.lock === 'lookup' && $ && $(control).data('select2')) {
        $(control).select2('readonly', locked);
      }
    }
    if (locked) {
      control.setAttribute('aria-readonly', 'true');
      control.setAttribute('data-rule-locked', '1');
    } else {
      control.removeAttribute('aria-readonly');
      control.removeAttribute('data-rule-locked');
    }
  }

  function narrow(field, allowed, mandatory) {
    var select = field.control;
    var chosen = selectedValues(select);
    var offered = field.options.filter(function (option) {
      if (option[0] === '') { return !mandatory || chosen.length === 0; }
      return !allowed || allowed.indexOf(option[0]) >= 0 || chosen.indexOf(option[0]) >= 0;
    });
    var key = JSON.stringify(offered.map(function (option) { return option[0]; }));
    if (key === field.offered) { return; }
    field.offered = key;
    while (select.options.length) { select.remove(0); }
    offered.forEach(function (option) {
      var element = new Option(option[1], option[0]);
      select.add(element);
      element.selected = chosen.indexOf(option[0]) >= 0;
    });
    if (!select.multiple && chosen.length === 0) { select.value = ''; }
  }

  function start(form) {
    var conditions = window.DictadminConditions;
    var bundleBlock = document.getElementById(form.getAttribute('data-rule-bundle'));
    var factsBlock = document.getElementById(form.getAttribute('data-rule-facts'));
    if (!conditions || !bundleBlock || !factsBlock) { return; }
    var bundle = JSON.parse(bundleBlock.textContent);
    var facts = JSON.parse(factsBlock.textContent);
    var fields = [];
    var levelField = null;
    Array.prototype.forEach.call(form.querySelectorAll('[data-rule-field]'), function (group) {
      var field = describe(group);
      if (!field) { return; }
      var options = own(facts.options, field.name);
      if (options && field.control.tagName === 'SELECT') {
        field.options = options;
        field.offered = JSON.stringify(Array.prototype.map.call(
          field.control.options, function (option) { return option.value; }));
      }
      if (field.name === 'level' && bundle.has_level) { levelField = field; }
      fields.push(field);
    });
    var lockedBefore = asSet(facts.locked);

    function apply() {
      var values = {};
      Object.keys(facts.fixed || {}).forEach(function (name) { values[name] = facts.fixed[name]; });
      fields.forEach(function (field) { values[field.name] = readValue(field); });
      var level = levelField ? levelField.control.value || facts.level : facts.level;
      var state = conditions.evaluate(bundle, values, level);
      var hidden = asSet(state.hidden);
      var mandatory = asSet(state.mandatory);
      var readOnly = asSet(state.read_only);
      fields.forEach(function (field) {
        var name = field.name;
        setHidden(field, hidden[name] === true);
        setMandatory(field, mandatory[name] === true);
        setLocked(field, lockedBefore[name] === true || (readOnly[name] === true &&
                  sameValue(values[name], own(facts.opened, name))));
        if (field.options) { narrow(field, own(state.choices, name), mandatory[name] === true); }
      });
      var applied;
      try {
        applied = new CustomEvent('dictadmin:rules-applied', {detail: state});
      } catch (e) {
        return;
      }
      form.dispatchEvent(applied);
    }

    form.addEventListener('input', apply);
    // Select2 and the date picker announce a choice with jQuery's change event, which
    // jQuery's own listeners see (and they see the browser's change events too).
    if (window.jQuery) {
      window.jQuery(form).on('change', apply);
    } else {
      form.addEventListener('change', apply);
    }
    apply();
  }

  function startAll() {
    Array.prototype.forEach.call(document.querySelectorAll('form[data-rule-bundle]'), start);
  }

  // After Flask-Admin's form.js has started the lookups and date pickers (jQuery's ready
  // handlers run in the order they were added).
  if (window.jQuery) {
    window.jQuery(startAll);
  } else if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', startAll);
  } else {
    startAll();
  }
}());
