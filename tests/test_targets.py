"""`Target.get`: how the domain follows a stored reference, without the screens' loaders."""

from bson import ObjectId

from admin_app.models import Contact, Customer
from admin_app.targets import TARGETS


def test_a_reference_finds_its_record_archived_or_not_at_an_allowed_level_only(store_app):
    with store_app.app_context():
        acme = Customer(name="Acme Ltd", level="Org").save()
        gone = Customer(name="Acme Retired", level="Org", archived=True).save()
        ann = Customer(name="Ann Lee", level="Customer").save()
        pat = Contact(name="Pat Doe", customer=ann.pk).save()

        assert TARGETS["org"].get(acme.pk).name == "Acme Ltd"
        assert TARGETS["org"].get(str(gone.pk)).name == "Acme Retired"  # a link still reads
        assert TARGETS["org"].get(ann.pk) is None  # an org reference never names a Customer
        assert TARGETS["customer"].get(ann.pk).name == "Ann Lee"
        assert {TARGETS["record"].get(pk).name for pk in (acme.pk, ann.pk)} == {
            "Acme Ltd", "Ann Lee"}
        assert TARGETS["contact"].get(pat.pk).name == "Pat Doe"
        assert TARGETS["contact"].get(ann.pk) is None  # another model's id


def test_what_is_not_an_id_of_a_record_finds_nothing(store_app):
    with store_app.app_context():
        for value in ("not-an-id", "", None, 42, ObjectId()):
            assert TARGETS["record"].get(value) is None
