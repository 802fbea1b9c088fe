"""Contracts and SLAs: short fixed-shape lists, so Flask-Admin's model forms serve them."""

from __future__ import annotations

from flask_admin.form import SecureForm

from .secure import SecureModelView


class CatalogView(SecureModelView):
    form_base_class = SecureForm
    column_list = ["name", "archived"]
    column_searchable_list = ["name"]
    column_filters = ["archived"]


class ContractView(CatalogView):
    form_columns = ["name", "description", "expiry_date", "archived"]
    column_list = ["name", "expiry_date", "archived"]
    column_labels = {"expiry_date": "Expiry date"}


class SLAView(CatalogView):
    column_list = ["name", "response_hours", "resolution_hours", "archived"]
    form_columns = ["name", "response_hours", "resolution_hours", "archived"]
    column_labels = {"name": "Name", "response_hours": "Response (hours)",
                     "resolution_hours": "Resolution (hours)"}
