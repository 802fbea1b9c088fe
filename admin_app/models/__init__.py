"""MongoEngine documents."""

from .catalog import SLA, Contract
from .records import Contact, Customer
from .users import User

__all__ = ["SLA", "Contact", "Contract", "Customer", "User"]
