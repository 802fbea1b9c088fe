"""The rules screen: an entity's conditional rules, listed in words with the current labels,
added and changed with the builder (or as JSON), retired and put back in force; admins only.

Every change goes through `customising.conditional_rules`, so a rule meets the same checks
here as from the dictionary file or a profile, and an edit carries the revision it was
opened at, so a stale save is refused. A refusal is shown above the form, which keeps
what was typed.
"""

from __future__ import annotations

import json
import typing as t

from flask import abort, flash, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_wtf import FlaskForm

from .. import dictionary
from ..customising import conditional_rules
from ..customising.checked import DictionaryError
from ..dictionary import conditional
from ..dictionary.conditional.shape import ConditionalRule
from ..dictionary.documents import RuleDefinition
from . import rule_builder
from .dictionary_admin import _revision
from .paging import page_of
from .secure import AdminOnly

PAGE_SIZE = 20
SHOWN = {"all": "All", "in_force": "In force", "retired": "Retired"}


class RulesView(AdminOnly, BaseView):
    @expose("/")
    def index(self) -> t.Any:
        entities = sorted(dictionary.current().entities)
        if not entities:
            abort(404)
        return redirect(url_for(".rules", entity="customer" if "customer" in entities
                                else entities[0]))

    @expose("/<entity>/")
    def rules(self, entity: str) -> t.Any:
        snapshot = _snapshot_of(entity)
        every = list(snapshot.conditional_rules.get(entity, ()))
        show = request.args.get("show", "all")
        show = show if show in SHOWN else "all"
        listed = [r for r in every if show == "all" or r.retired == (show == "retired")]
        fields = snapshot.fields.get(entity, {})
        shown = page_of([rule_builder.described(r, fields) for r in listed], PAGE_SIZE)
        counts = {"all": len(every), "retired": sum(r.retired for r in every)}
        counts["in_force"] = counts["all"] - counts["retired"]
        return self.render("dictadmin/rules_list.html", snapshot=snapshot, entity=entity,
                           rules=shown.pop("items"), show=show, shown_words=SHOWN,
                           counts=counts, **shown)

    @expose("/<entity>/new/", methods=["GET", "POST"])
    def new(self, entity: str) -> t.Any:
        snapshot = _snapshot_of(entity)
        skeleton = {"name": "", "entity": entity, "when": {"all": []}, "then": {}}
        page = RulePage(self, snapshot, entity, None, rule_builder.Builder().padded(),
                        _as_json(skeleton))
        if request.method == "POST":
            return page.posted(lambda document: conditional_rules.add_rule(document),
                               "Added rule {name}. It is in force from the next page.")
        return page.render()

    @expose("/<entity>/edit/", methods=["GET", "POST"])
    def edit(self, entity: str) -> t.Any:
        snapshot = _snapshot_of(entity)
        rule = _stored(entity)
        live = {f.name: f for f in snapshot.live_fields(entity)}
        builder = rule_builder.of_rule(rule, live)
        page = RulePage(self, snapshot, entity, rule, builder.padded() if builder else None,
                        _as_json(rule.document()))
        if request.method == "POST":
            revision = _revision(request.form.get("revision"))
            return page.posted(lambda document: conditional_rules.update_rule(
                document, expected_revision=revision), "Saved rule {name}.")
        return page.render()

    @expose("/<entity>/retire/", methods=["GET", "POST"])
    def retire(self, entity: str) -> t.Any:
        return self._retiring(entity, retired=True)

    @expose("/<entity>/reinstate/", methods=["GET", "POST"])
    def reinstate(self, entity: str) -> t.Any:
        return self._retiring(entity, retired=False)

    def _retiring(self, entity: str, *, retired: bool) -> t.Any:
        """The confirmation of retiring a rule (or putting it back), and doing it."""
        snapshot = _snapshot_of(entity)
        rule = _stored(entity)
        form = FlaskForm()
        error, status = "", 200
        if rule.retired == retired and request.method == "GET":
            flash(f"Rule {rule.name} is already {'retired' if retired else 'in force'}.",
                  "info")
            return redirect(url_for(".rules", entity=entity))
        if request.method == "POST":
            if not form.validate_on_submit():
                error, status = _EXPIRED, 400
            else:
                try:
                    conditional_rules.retire_rule(
                        entity, rule.name, retired=retired,
                        expected_revision=_revision(request.form.get("revision")))
                except DictionaryError as exc:
                    error, status = str(exc), 409
                else:
                    flash(f"Rule {rule.name} is {'retired' if retired else 'in force again'}.",
                          "success")
                    return redirect(url_for(".rules", entity=entity))
        fields = snapshot.fields.get(entity, {})
        return self.render("dictadmin/rules_confirm.html", entity=entity, form=form,
                           retired=retired, about=rule_builder.described(rule, fields),
                           revision=request.form.get("revision", rule.revision),
                           error=error, words=snapshot.entity(entity)), status


_EXPIRED = ("This form's security token is missing or has expired; nothing was saved. "
            "Submit it again.")


class RulePage:
    """The add / edit page of one rule: the builder (when it can show the rule) and the
    JSON, either of which may be posted; a refusal shows the page again as posted."""

    def __init__(self, view: BaseView, snapshot: dictionary.Snapshot, entity: str,
                 rule: ConditionalRule | None, builder: rule_builder.Builder | None,
                 text: str) -> None:
        self.view, self.snapshot, self.entity, self.rule = view, snapshot, entity, rule
        self.builder, self.text = builder, text
        self.fields = {f.name: f for f in snapshot.live_fields(entity)}

    def posted(self, save: t.Callable[[dict[str, t.Any]], ConditionalRule], done: str) -> t.Any:
        if request.form.get("_save") == "advanced":
            self.text = request.form.get("document", "")
            return self._saved(save, done, self._from_json)
        builder = rule_builder.posted(request.form)
        self.builder = builder
        if request.form.get("_more"):  # more rows to fill in; nothing is saved
            self.builder = builder.padded(len(builder.rows) + rule_builder.MORE_ROWS,
                                          len(builder.choices))
            return self.render()
        return self._saved(save, done, lambda: rule_builder.document(
            builder, self.entity, self.fields, name=self.rule.name if self.rule else None,
            retired=bool(self.rule and self.rule.retired)))

    def _saved(self, save: t.Callable[[dict[str, t.Any]], ConditionalRule], done: str,
               document: t.Callable[[], dict[str, t.Any]]) -> t.Any:
        """Save the rule `document()` gives, or show the page again with the refusal."""
        if not FlaskForm().validate_on_submit():
            return self.render(_EXPIRED, 400)
        try:
            saved = save(document())
        except DictionaryError as exc:  # shown again as posted, row for row
            return self.render(str(exc), 409)
        flash(done.format(name=saved.name), "success")
        return redirect(url_for(".rules", entity=self.entity))

    def _from_json(self) -> dict[str, t.Any]:
        """The JSON typed, as a rule of this entity (and, when editing, of this rule)."""
        try:
            document = json.loads(self.text)
        except json.JSONDecodeError as exc:
            raise DictionaryError(f"The JSON could not be read (line {exc.lineno}, column "
                                  f"{exc.colno}): {exc.msg}. Correct it and save again.") \
                from exc
        except RecursionError as exc:
            raise DictionaryError("The JSON is nested too deeply to read; no rule needs "
                                  "that.") from exc
        if not isinstance(document, dict):
            raise DictionaryError("The JSON must be one rule: an object with a name, when and "
                                  "then.")
        document.setdefault("entity", self.entity)
        if document["entity"] != self.entity:
            raise DictionaryError(f"This page holds the rules of {self.entity}, and the JSON "
                                  f"names the entity {document['entity']!r}; add the rule on "
                                  f"that entity's page.")
        if self.rule is not None:
            if document.get("name") != self.rule.name:
                raise DictionaryError(f"A rule's name cannot be changed (this is rule "
                                      f"{self.rule.name}); add a new rule and retire this one "
                                      f"instead.")
            if bool(document.get("retired")) != self.rule.retired:
                raise DictionaryError(f"Rule {self.rule.name}: retire it or put it back in "
                                      f"force with the button on the rules list, not in its "
                                      f"JSON.")
        return document

    def render(self, error: str = "", status: int = 200) -> t.Any:
        return self.view.render(
            "dictadmin/rules_edit.html", entity=self.entity, rule=self.rule,
            builder=self.builder, text=self.text, error=error, form=FlaskForm(),
            fields=sorted(self.fields.values(), key=lambda f: f.label.casefold()),
            comparisons=rule_builder.COMPARISONS, actions=rule_builder.LIST_ACTIONS,
            words=self.snapshot.entity(self.entity),
            revision=request.form.get("revision") or (self.rule.revision if self.rule else 0),
        ), status


def _snapshot_of(entity: str) -> dictionary.Snapshot:
    """The dictionary of this request, for an entity it has (else 404)."""
    snapshot = dictionary.current()
    if entity not in snapshot.entities:
        abort(404)
    return snapshot


def _stored(entity: str) -> ConditionalRule:
    """The rule named by `?name=`, as stored now (else 404)."""
    stored = RuleDefinition.objects(entity=entity, name=request.args.get("name", "")).first()
    if stored is None:
        abort(404)
    return conditional.from_document(stored.document(), stored.revision)


def _as_json(document: dict[str, t.Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False)
