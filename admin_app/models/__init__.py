"""MongoEngine documents."""

from .catalog import SLA, Contract
from .records import Contact, Customer
from .tickets import Ticket
from .users import User

__all__ = ["SLA", "Contact", "Contract", "Customer", "Ticket", "User"]
