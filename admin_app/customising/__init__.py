"""Admins customising fields live: the checked operations that change the data dictionary
and bring the stored records along.

`admin_app.dictionary` holds the definitions and what reading them needs; the records
layer reads it. A change here may rewrite records through that layer (a choice rename,
a type change, a field made searchable), so this package sits above both: `fields`,
`layouts` and `entities` (each change checked once, then saved through `checked`),
`retype` (a type change), `revert`, `filing` (the dictionary file), `profiles`,
`search_key_jobs` and `cli` (`flask dictionary`).
"""
