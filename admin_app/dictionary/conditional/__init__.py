"""Conditional rules: when a record's values meet a condition, show, hide, require, lock
or narrow some of its fields. `shape` reads a rule's document, `checks` fits it to the
dictionary when it is saved, `evaluator` is the one authority on what the rules in force
make of a record (the browser's `conditions.js` translates it)."""

from .checks import RuleRefused, fitted
from .evaluator import State, evaluate, explain, words
from .shape import ConditionalRule, ShapeError, from_document

__all__ = ["ConditionalRule", "RuleRefused", "ShapeError", "State", "evaluate", "explain",
           "fitted", "from_document", "words"]
