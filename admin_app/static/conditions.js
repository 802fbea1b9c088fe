// The browser's copy of the conditional rules' evaluator: a line-by-line translation of
// admin_app/dictionary/conditional/evaluator.py, so that a form can hide, require, lock
// and narrow fields as the values change, before the server checks the same rules on
// save. Its docstring is the specification; tests/rule_cases.json holds both to the same
// answers. The page gives `bundle` (conditional/browser.py's `bundle`, a JSON data block)
// and the values as rules compare them: JSON, null/""/[] for empty, dates YYYY-MM-DD,
// a reference's id, a multiple choice as a list.
//
// Nothing is kept between calls, so a page may hold several bundles. Objects from JSON
// are read only through `own`: a field may be called "constructor".
(function () {
  'use strict';

  var LIST_ACTIONS = ['show', 'hide', 'mandatory', 'read_only'];

  function own(object, key) {
    return object != null && Object.prototype.hasOwnProperty.call(object, key)
      ? object[key] : undefined;
  }

  function keys(set) {
    // Python's sorted() on str: code-point order, never the locale's.
    return Object.keys(set).sort(function (a, b) { return a < b ? -1 : a > b ? 1 : 0; });
  }

  // Python's == on JSON values: true == 1, 1 == 1.0, lists and objects item by item.
  function equal(a, b) {
    if (a === b) { return true; }
    var ta = typeof a, tb = typeof b;
    if ((ta === 'number' || ta === 'boolean') && (tb === 'number' || tb === 'boolean')) {
      return Number(a) === Number(b);
    }
    if (Array.isArray(a) || Array.isArray(b)) {
      return Array.isArray(a) && Array.isArray(b) && a.length === b.length &&
        a.every(function (item, i) { return equal(item, b[i]); });
    }
    if (a === null || b === null || ta !== 'object' || tb !== 'object') { return false; }
    var ka = Object.keys(a), kb = Object.keys(b);
    return ka.length === kb.length &&
      ka.every(function (k) { return own(b, k) !== undefined && equal(a[k], b[k]); });
  }

  function contains(list, item) {
    return list.some(function (each) { return equal(each, item); });
  }

  // Equal as JSON values: true is not 1, 1 is 1.0.
  function same(value, wanted) {
    return (typeof value === 'boolean') === (typeof wanted === 'boolean') && equal(value, wanted);
  }

  // Python's bool() of a JSON value.
  function truthy(value) {
    if (Array.isArray(value)) { return value.length > 0; }
    if (value !== null && typeof value === 'object') { return Object.keys(value).length > 0; }
    return Boolean(value);
  }

  // A value as rules compare it: null when empty; a tick box is true or false.
  function comparable(definition, value) {
    if (definition && definition.always_set) { return truthy(value); }
    if (value === undefined || value === null || value === '' ||
        (Array.isArray(value) && value.length === 0)) { return null; }
    return value;
  }

  function compare(comparison, value) {
    var op = Object.keys(comparison).filter(function (k) { return k !== 'field'; })[0];
    var wanted = comparison[op];
    if (op === 'empty') { return (value === null) === wanted; }
    if (value === null) { return false; }
    if (op === 'equals') {
      return Array.isArray(value) ? contains(value, wanted) : same(value, wanted);
    }
    if (op === 'one_of') {
      if (Array.isArray(value)) {
        return value.some(function (item) { return contains(wanted, item); });
      }
      return wanted.some(function (w) { return same(value, w); });
    }
    if (typeof value !== 'string' || typeof wanted !== 'string') { return false; }
    return op === 'before' ? value < wanted : value > wanted;
  }

  function holdsIn(condition, valueOf) {
    var parts = own(condition, 'all');
    if (parts !== undefined) {
      return parts.every(function (p) { return holdsIn(p, valueOf); });
    }
    parts = own(condition, 'any');
    if (parts !== undefined) {
      return parts.some(function (p) { return holdsIn(p, valueOf); });
    }
    var inner = own(condition, 'not');
    if (inner !== undefined) { return !holdsIn(inner, valueOf); }
    return compare(condition, valueOf(condition.field));
  }

  // Whether a condition holds on values as rules compare them (missing, "" and []: empty).
  function holds(condition, values) {
    return holdsIn(condition, function (name) { return comparable(null, own(values, name)); });
  }

  function holding(bundle, values, level) {
    var fields = bundle.fields || {};
    function valueOf(name) {
      var value = bundle.has_level && name === 'level' ? level : own(values, name);
      return comparable(own(fields, name), value);
    }
    return (bundle.rules || []).filter(function (rule) { return holdsIn(rule.when, valueOf); });
  }

  // The state of a record's fields under the Level's flags and the rules in force, as
  // `State.document()` writes it.
  function evaluate(bundle, values, level) {
    var fields = bundle.fields || {};
    var isField = function (name) { return own(fields, name) !== undefined; };
    var mandatory = Object.create(null);
    Object.keys(fields).forEach(function (name) {
      var f = fields[name];
      if (!f.always_set && f.mandatory.indexOf(level) >= 0) { mandatory[name] = true; }
    });
    var rules = bundle.rules || [];
    var held = rules.length ? holding(bundle, values, level) : [];
    var why = {};
    LIST_ACTIONS.forEach(function (action) { why[action] = Object.create(null); });
    held.forEach(function (rule) {
      LIST_ACTIONS.forEach(function (action) {
        (own(rule.then, action) || []).forEach(function (name) { why[action][name] = true; });
      });
    });
    var hidden = Object.create(null);
    rules.forEach(function (rule) {
      (own(rule.then, 'show') || []).forEach(function (name) {
        if (!why.show[name] && isField(name)) { hidden[name] = true; }
      });
    });
    Object.keys(why.hide).forEach(function (name) { if (isField(name)) { hidden[name] = true; } });
    Object.keys(why.mandatory).forEach(function (name) {
      if (isField(name) && !fields[name].always_set) { mandatory[name] = true; }
    });
    Object.keys(hidden).forEach(function (name) { delete mandatory[name]; });
    var choices = Object.create(null);
    held.forEach(function (rule) {
      var narrowed = own(rule.then, 'choices') || {};
      Object.keys(narrowed).forEach(function (name) {
        if (!isField(name)) { return; }
        var current = choices[name] || fields[name].choices;
        choices[name] = current.filter(function (c) { return contains(narrowed[name], c); });
      });
    });
    var allowed = {};
    keys(choices).forEach(function (name) { allowed[name] = choices[name]; });
    return {hidden: keys(hidden), mandatory: keys(mandatory), read_only: keys(why.read_only),
            choices: allowed};
  }

  // The names of the rules that hold, in the bundle's order.
  function explainHolding(bundle, values, level) {
    return holding(bundle, values, level).map(function (rule) { return rule.name; });
  }

  window.DictadminConditions = {evaluate: evaluate, holds: holds,
                                explainHolding: explainHolding};
}());
