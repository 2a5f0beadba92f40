"""Import every table module so SQLModel.metadata knows them all (Alembic, tests)."""

from sqlmodel import SQLModel

from trova.accounts import models as _accounts  # noqa: F401
from trova.ai import models as _ai  # noqa: F401
from trova.assistant import models as _assistant  # noqa: F401
from trova.evals import models as _evals  # noqa: F401
from trova.marketplace import models as _marketplace  # noqa: F401
from trova.ops import models as _ops  # noqa: F401
from trova.rollout import models as _rollout  # noqa: F401
from trova.search import models as _search  # noqa: F401

metadata = SQLModel.metadata
