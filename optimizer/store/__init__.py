"""The plan store: regions tables, scenario versions, plans with status, an audit log.

Open a store and act as a user::

    from optimizer.store import open_store, acting_user, get_plan
    store = open_store(url)          # None: $OPTIMIZER_STORE, else sqlite ./data/plans.db;
                                     # created and migrated to the newest schema on first use
    actor = acting_user(store, user, password)   # OS user on a local store, a login on a team
    plan = get_plan(store, actor, "k7m2qx3a")    # StoredPlan: .info, .scenario_toml,
                                                 # .regions_data, .summary, .results (per
                                                 # region and pool), .pool("budget")

Every function in `optimizer.store.api` takes the actor and checks its role first
(`auth.require(session, actor, Action.X)`, roles read from the store, never from the
caller); the CLI and the app only call these functions.

Extending the store (e.g. actuals for the quarterly cycle) without editing these files:

* tables: a new module in this package with classes on `optimizer.store.models.Base`
  (one shared metadata; `store dump`/`load` then include them automatically);
* schema: a new Alembic revision in `optimizer/store/migrations/versions/` whose
  `down_revision` is the current head (`db.head_revision()`); `open_store` applies it;
* writes: `store.run(fn)` runs `fn(session)` in one transaction (retried when a concurrent
  writer took a unique key first); `with store.transaction() as session:` for a single try;
  inside, call `auth.require(session, actor, Action.X)` and `api.audit(session, actor, ...)`.
* reads: `api.get_plan`, `api.list_plans(period=, status=)`, `api.history`, `api.diff_plans`.

Errors the user sees are `InputError`s: `db.StoreError` (store unreachable or gone),
`auth.PermissionDenied`, `api.UnknownId`, `api.ForbiddenTransition`.
"""

from optimizer.store.api import (
    SaveOutcome,
    StoredPlan,
    acting_user,
    change_status,
    diff_plans,
    get_plan,
    history,
    list_plans,
    save_plan,
)
from optimizer.store.auth import Action, Actor, PermissionDenied, require
from optimizer.store.db import Store, StoreError, open_store
from optimizer.store.models import Base

__all__ = ["Action", "Actor", "Base", "PermissionDenied", "SaveOutcome", "Store",
           "StoreError", "StoredPlan", "acting_user", "change_status", "diff_plans",
           "get_plan", "history", "list_plans", "open_store", "require", "save_plan"]

# the quarterly cycle's tables (actuals) on the same metadata: dump/load and migrations see them
from optimizer.store import cycle as cycle  # noqa: E402, F401
