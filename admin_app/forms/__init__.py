"""The forms layer: what turns the dictionary and the record write path into web forms.

Below the screens (`views/`, `portal/`, `tickets/form.py`) and above the records layer:
the WTForms record forms the dictionary generates (`records.py`), Flask-Admin's
search-as-you-type loaders for reference fields (`lookups.py`), and what a record form
was opened at and how its save is written (`opened.py`), shared by the admin's record
forms and the portal's My details. The dictionary and records layers never import
WTForms or Flask-Admin: they find a referenced record with `targets.Target.get`.
"""
