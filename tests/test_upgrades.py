"""An upgrade of Flask-Admin (or of a library we reach under) is noticed (issue 21).

`admin_app/upstream.py` declares the versions the code was checked against, each
Flask-Admin template we override with the SHA-256 of the upstream file it was copied
from, and each internal we rely on. These tests fail, naming the template or the
internal and what to re-check, when the installed libraries no longer match; when the
code reaches a library's private name the declaration does not list; and when
docs/architecture.md's table is not the one the declaration writes.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import importlib
import importlib.metadata
import importlib.util
import inspect
import pathlib
import pkgutil
import re
import sys

import pytest

from admin_app import upstream
from admin_app.upstream import INTERNALS, TEMPLATES, Check, Template

APP = pathlib.Path("admin_app")
OURS = APP / "templates"
TESTS = pathlib.Path("tests")
# The embedded store's changes to litemongo are about its insides by design; their pin
# is LITEMONGO_VERSION and their upstream tests (test_litemongo_changes.py).
NOT_SCANNED = APP / "store" / "litemongo_changes"
_HEADER = re.compile(r"\A\{#.*?#\}\n", re.DOTALL)


def package_file(relative: str) -> pathlib.Path:
    """A file inside an installed package, e.g. "flask_admin/static/admin/js/form.js"."""
    package, _, rest = relative.partition("/")
    spec = importlib.util.find_spec(package)
    assert spec is not None and spec.origin, f"{package} is not installed"
    return pathlib.Path(spec.origin).parent / rest


UPSTREAM = package_file(f"flask_admin/{upstream.UPSTREAM_TEMPLATES}")


# -- what the checks say ---------------------------------------------------------------


def template_problem(template: Template, upstream_dir: pathlib.Path = UPSTREAM,
                     ours_dir: pathlib.Path = OURS) -> str | None:
    """Why our copy of `template` may no longer be right, in a sentence; None if it is."""
    theirs, ours = upstream_dir / template.path, ours_dir / template.path
    if not theirs.is_file():
        return (f"Flask-Admin no longer has {template.path}: our copy in "
                f"admin_app/templates/{template.path} is no longer used, so the inline handler "
                f"it removes ({template.why}) comes back and the CSP blocks it. Find where "
                f"the new version moved it, copy it again with the same change, and update "
                f"admin_app/upstream.py.")
    text = theirs.read_text(encoding="utf-8")
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    if digest != template.sha256:
        return (f"Flask-Admin's {template.path} changed since admin_app/templates/"
                f"{template.path} was copied from it: diff the two, carry the change over "
                f"keeping our one edit ({template.why}), grep the new file for on…= "
                f"handlers, then set its SHA-256 ({digest}) in admin_app/upstream.py and "
                f"run test_security_headers.py, test_browser_csp.py and the crawl.")
    for theirs_text, ours_text in template.changes:
        if theirs_text not in text:
            return (f"admin_app/upstream.py says our {template.path} replaces text that "
                    f"Flask-Admin's file does not hold: {theirs_text!r}.")
        text = text.replace(theirs_text, ours_text)
    copy = _HEADER.sub("", ours.read_text(encoding="utf-8"), count=1)
    if copy != text:
        return (f"admin_app/templates/{template.path} is not Flask-Admin's file with only "
                f"the change admin_app/upstream.py declares ({template.why}): declare what "
                f"else it changes, or copy it again.")
    return None


def _target(name: str) -> object:
    module_name, _, qualified = name.partition(":")
    found: object = importlib.import_module(module_name)
    for part in filter(None, qualified.split(".")):
        found = getattr(found, part)
    return found


def _sets_on_self(owner: object, attribute: str) -> bool:
    """Whether a class (or a class it derives from) sets or reads `self.<attribute>`."""
    classes = inspect.getmro(owner) if inspect.isclass(owner) else (owner,)
    for cls in classes:
        if cls is object:
            continue
        try:
            if re.search(rf"\bself\.{re.escape(attribute)}\b", inspect.getsource(cls)):
                return True
        except (OSError, TypeError):
            continue
    return False


def check_problem(check: Check) -> str | None:
    """What no longer holds of `check` in the installed libraries; None if it holds."""
    if "/" in check.target:  # a file an installed package ships
        path = package_file(check.target)
        if not path.is_file():
            return f"{check.target} is no longer installed."
        if check.says not in path.read_text(encoding="utf-8"):
            return f"{check.target} no longer holds {check.says!r}."
        return None
    try:
        owner = _target(check.target)
    except (ImportError, AttributeError):
        return f"{check.target} no longer exists."
    found = owner
    if check.attribute:
        if check.instance:
            if not _sets_on_self(owner, check.attribute):
                return f"{check.target} no longer sets self.{check.attribute}."
            return None
        if not hasattr(owner, check.attribute):
            return f"{check.target} has no {check.attribute} any more."
        found = getattr(owner, check.attribute)
    if check.params:
        names = [p for p in inspect.signature(found).parameters if p not in ("self", "cls")]
        if tuple(names[:len(check.params)]) != check.params:
            return (f"{check} now takes ({', '.join(names)}), not "
                    f"({', '.join(check.params)}, …).")
    if check.says and check.says not in inspect.getsource(found):
        return f"{check.target}.{check.attribute} no longer says {check.says!r}."
    return None


def _entry_of(check: Check) -> upstream.Internal:
    return next(entry for entry in INTERNALS if check in entry.checks)


# -- the versions -------------------------------------------------------------------------


@pytest.mark.parametrize("library", sorted(upstream.VERSIONS))
def test_each_library_we_reach_under_is_the_version_the_declaration_was_checked_against(
        library):
    installed = importlib.metadata.version(library)
    declared = upstream.VERSIONS[library]
    checked = [entry.what for entry in INTERNALS if entry.library == library]
    assert installed == declared, (
        f"{library} {installed} is installed; admin_app/upstream.py was checked against "
        f"{declared}. Re-check what we rely on in it ({'; '.join(checked)}"
        f"{'; and the overridden templates' if library == 'flask-admin' else ''}): run "
        f"tests/test_upgrades.py and the tests each entry names, then set its version in "
        f"admin_app/upstream.py.")


# -- the overridden templates ----------------------------------------------------------


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda t: t.path)
def test_each_overridden_template_is_the_upstream_file_it_was_copied_from_plus_its_change(
        template):
    problem = template_problem(template)
    assert problem is None, problem


def test_every_template_we_override_is_declared():
    overriding = {str(path.relative_to(OURS)) for path in (OURS / "admin").rglob("*.html")}
    assert overriding == {t.path for t in TEMPLATES}, (
        "each file under admin_app/templates/admin/ overrides Flask-Admin's: declare it in "
        "admin_app/upstream.py TEMPLATES", overriding ^ {t.path for t in TEMPLATES})


def test_a_changed_or_moved_upstream_template_is_named_with_what_to_recheck(tmp_path):
    theirs, ours = tmp_path / "upstream", tmp_path / "ours"
    template = TEMPLATES[0]
    for root, source in ((theirs, UPSTREAM), (ours, OURS)):
        (root / template.path).parent.mkdir(parents=True)
        (root / template.path).write_text((source / template.path).read_text("utf-8"), "utf-8")
    assert template_problem(template, theirs, ours) is None
    moved = theirs / template.path
    moved.write_text(moved.read_text("utf-8") + "{# a fix upstream #}\n", "utf-8")
    problem = template_problem(template, theirs, ours)
    assert problem.startswith(f"Flask-Admin's {template.path} changed since "
                              f"admin_app/templates/{template.path} was copied from it")
    assert "carry the change over" in problem
    moved.unlink()
    assert template_problem(template, theirs, ours).startswith(
        f"Flask-Admin no longer has {template.path}")


# -- the internals ----------------------------------------------------------------------

CHECKS = [check for entry in INTERNALS for check in entry.checks]


@pytest.mark.parametrize("check", CHECKS, ids=str)
def test_each_internal_we_rely_on_is_still_there(check):
    problem = check_problem(check)
    entry = _entry_of(check)
    assert problem is None, (
        f"{problem} We rely on it for {entry.what} in {', '.join(p for p, _ in entry.where)} "
        f"({entry.why}). Re-check that code against the new version, and the tests "
        f"{', '.join(entry.tests)}; then update admin_app/upstream.py and the doc "
        f"(python -m admin_app.upstream --write).")


def test_a_missing_internal_is_named():
    assert check_problem(Check("flask_admin.base:BaseView", "_gone")) == \
        "flask_admin.base:BaseView has no _gone any more."
    assert check_problem(Check("flask_admin.menu:MenuView", "_gone", instance=True)) == \
        "flask_admin.menu:MenuView no longer sets self._gone."
    assert check_problem(Check(upstream.ME_VIEW, "get_list", params=("query",))) \
        .endswith("now takes (page, sort_column, sort_desc, search, filters, execute, "
                  "page_size), not (query, …).")
    assert check_problem(Check("flask_admin/static/admin/js/form.js", says="nothing like")) \
        == "flask_admin/static/admin/js/form.js no longer holds 'nothing like'."


@pytest.mark.parametrize("entry", INTERNALS, ids=lambda e: e.what[:60])
def test_each_internal_is_used_where_the_declaration_says(entry):
    for path, mark in entry.where:
        file = APP / path
        assert file.is_file() and mark in file.read_text(encoding="utf-8"), (
            f"admin_app/upstream.py says admin_app/{path} relies on {entry.what} "
            f"(it would hold {mark!r}); it does not any more: correct the declaration.")


def test_every_test_the_declaration_names_exists():
    named = [name for entry in INTERNALS for name in entry.tests]
    for name in named:
        file, _, function = name.partition("::")
        path = TESTS / file
        assert path.is_file(), f"admin_app/upstream.py names {file}, which does not exist"
        if function:
            assert re.search(rf"^def {re.escape(function)}\(", path.read_text("utf-8"),
                             flags=re.MULTILINE), f"{name} does not exist"


# -- every private name of a library the code reaches is declared ---------------------------


def _sources() -> dict[pathlib.Path, ast.Module]:
    return {path: ast.parse(path.read_text(encoding="utf-8"))
            for path in sorted(APP.rglob("*.py"))}


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _ours(trees: dict[pathlib.Path, ast.Module]) -> set[str]:
    """Every private name our code defines: functions, classes, assigned names."""
    defined: set[str] = set()
    for tree in trees.values():
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                defined.add(node.name)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                defined.add(node.id)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                defined.add(node.attr)
    return {name for name in defined if _private(name)}


@functools.cache
def _names_of(cls: type) -> frozenset[str]:
    """What a library class has: its attributes, and what its source sets on `self`."""
    names = set(vars(cls))
    try:
        names.update(re.findall(r"\bself\.(\w+)", inspect.getsource(cls)))
    except (OSError, TypeError):
        pass
    return frozenset(names)


def _library_bases() -> dict[type, set[type]]:
    """Our class → the library classes `super()` reaches from it in some class of ours
    (a mixin's come from the classes that mix it in)."""
    import admin_app

    for info in pkgutil.walk_packages(admin_app.__path__, "admin_app."):
        if not info.name.startswith(f"{admin_app.__name__}.store.litemongo_changes"):
            importlib.import_module(info.name)
    bases: dict[type, set[type]] = {}
    for name, module in list(sys.modules.items()):
        if not name.startswith("admin_app.") or module is None:
            continue
        for _name, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ != module.__name__:
                continue
            mro = cls.__mro__
            for at, mine in enumerate(mro):
                if mine.__module__.startswith("admin_app"):
                    bases.setdefault(mine, set()).update(
                        base for base in mro[at + 1:]
                        if not base.__module__.startswith("admin_app") and base is not object)
    return bases


def _defined_in_class(node: ast.ClassDef) -> set[str]:
    """Private names a class of ours defines: its methods and what it sets on `self`."""
    names = {item.name for item in node.body
             if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef)}
    names |= {sub.attr for sub in ast.walk(node)
              if isinstance(sub, ast.Attribute) and isinstance(sub.ctx, ast.Store)
              and isinstance(sub.value, ast.Name) and sub.value.id == "self"}
    return {name for name in names if _private(name)}


def library_private_uses() -> dict[str, set[str]]:
    """Private name of a library → our modules (under admin_app/) using it: names read
    that our code never defines, names imported from a library, and methods or `self`
    attributes of our classes that are a library base class's too."""
    trees = _sources()
    ours, bases = _ours(trees), _library_bases()
    used: dict[str, set[str]] = {}
    for path, tree in trees.items():
        if NOT_SCANNED in path.parents:
            continue
        where = str(path.relative_to(APP))
        module_name = ".".join(path.with_suffix("").parts).removesuffix(".__init__")
        found: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and _private(node.attr) \
                    and node.attr not in ours:
                found.add(node.attr)
            elif isinstance(node, ast.ImportFrom) and not node.level:
                found |= {alias.name for alias in node.names if _private(alias.name)}
        for node in tree.body:
            if isinstance(node, ast.ClassDef):
                cls = getattr(sys.modules.get(module_name), node.name, None)
                libraries = bases.get(cls, set()) if isinstance(cls, type) else set()
                found |= {name for name in _defined_in_class(node)
                          if any(name in _names_of(base) for base in libraries)}
        for name in found - set(upstream.DOCUMENTED):
            used.setdefault(name, set()).add(where)
    return used


def test_every_private_name_of_a_library_the_code_uses_is_declared_where_it_is_used():
    declared: dict[str, set[str]] = {}
    for entry in INTERNALS:
        for name in entry.names:
            declared.setdefault(name, set()).update(path for path, _ in entry.where)
    problems = []
    for name, files in sorted(library_private_uses().items()):
        missing = files - declared.get(name, set())
        if missing:
            problems.append(f"{name} in {', '.join(sorted(missing))}")
    assert not problems, (
        "the code reaches these libraries' private names, which admin_app/upstream.py "
        "does not declare there (add or extend an entry: what, where, why, the tests that "
        "catch a change, what to check):\n" + "\n".join(problems))


# -- the doc ----------------------------------------------------------------------------


def test_the_architecture_docs_internals_table_is_the_declarations():
    text = upstream.DOC.read_text(encoding="utf-8")
    assert upstream.TABLE_START in text and upstream.TABLE_END in text
    assert upstream.section(text) == upstream.table(), (
        "docs/architecture.md's internals table is not the one admin_app/upstream.py "
        "declares: run `python -m admin_app.upstream --write`.")
