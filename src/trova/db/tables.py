"""Import every table module so SQLModel.metadata knows them all (Alembic, tests)."""

from sqlmodel import SQLModel

from trova.accounts import models as _accounts  # noqa: F401
from trova.ai import models as _ai  # noqa: F401
from trova.marketplace import models as _marketplace  # noqa: F401

metadata = SQLModel.metadata
