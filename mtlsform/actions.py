"""What a change does (Action) and why (Reason): two small enums, kept apart.

Apply branches on actions and on a change's explicit fields, never on a reason: reasons only
explain, to people (a sentence) and to machines (a snake_case code in plans, the shape of
Terraform's `action_reason`). Consumers must tolerate codes they do not know.
"""

from __future__ import annotations

from enum import Enum


class Action(Enum):
    NOOP = ("no-op",)
    CREATE = ("create",)
    UPDATE = ("update",)
    DELETE = ("delete",)
    REPLACE_DESTROY_FIRST = ("delete", "create")
    REPLACE_CREATE_FIRST = ("create", "delete")
    FORGET = ("forget",)

    @property
    def json(self) -> list[str]:
        return list(self.value)

    @property
    def is_replace(self) -> bool:
        return self in (Action.REPLACE_DESTROY_FIRST, Action.REPLACE_CREATE_FIRST)

    @property
    def creates(self) -> bool:
        return "create" in self.value

    @property
    def deletes(self) -> bool:
        return "delete" in self.value

    @classmethod
    def from_json(cls, actions: list[str]) -> Action:
        for action in cls:
            if list(action.value) == list(actions):
                return action
        raise ValueError(f"unknown plan action {actions!r}")


class Reason(Enum):
    """Why a change has its action; `value` is the code plans carry."""

    # no-op
    MATCHES = "no_op_because_matches"
    ADOPTED_MATCHES = "no_op_because_adopted"
    # create
    NEW = "create_because_new"
    DELETED_OUTSIDE = "create_because_deleted_outside"
    # update
    CHANGED = "update_because_config_changed"
    FILES_MISSING = "update_because_files_missing"
    ROLLOVER = "update_because_client_ca_rollover"
    ROLLOVER_EXPIRING = "update_because_expiring"  # a client CA renewed by a rollover
    # replace
    CANNOT_UPDATE = "replace_because_cannot_update"
    EXPIRING = "replace_because_expiring"
    REPLACE_REQUESTED = "replace_by_request"  # --replace
    # delete / forget
    NO_CONFIG = "delete_because_no_resource_config"
    UNMANAGED = "delete_because_unmanaged"
    DEPOSED = "delete_because_deposed"
    DESTROY = "delete_because_destroy"
    ADOPTED = "forget_because_adopted"
    BORROWED = "forget_because_borrowed"
    # a record whose cloud object a resource of the stack now finds at another address
    CLAIMED = "forget_because_claimed"
    # any action on an object found by its tags that the state did not record (--adopt-found)
    FOUND = "adopt_because_found"

    @property
    def code(self) -> str:
        return self.value

    @classmethod
    def from_code(cls, code: str) -> Reason:
        for reason in cls:
            if reason.value == code:
                return reason
        raise ValueError(f"unknown reason code {code!r}")
