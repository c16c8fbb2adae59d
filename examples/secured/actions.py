"""The actions of the secured app: one needs a scope, one reads the caller if there is one, two
are open. Deployed to OpenFaaS, only the functions that verify tokens get the JWT key."""

from dataclasses import dataclass

from servey_faas import WEB_GET, Authorization, Example, ScopeAccessControl, WebTrigger, action


@action(triggers=(WEB_GET,), access_control=ScopeAccessControl("orders:read"))
def my_orders(authorization: Authorization) -> list[str]:
    """The caller's orders: needs a bearer token with the scope orders:read."""
    return [f"{authorization.subject_id}-1", f"{authorization.subject_id}-2"]


@action(
    triggers=(WEB_GET,),
    examples=(Example(name="anonymous", params={}, result="Hello, anonymous!"),),
)
def whoami(authorization: Authorization | None = None) -> str:
    """Who calls: the token's subject, or anonymous without a token."""
    subject = authorization.subject_id if authorization is not None else None
    return f"Hello, {subject or 'anonymous'}!"


@dataclass(frozen=True)
class Note:
    """A note kept under an id."""

    note_id: str
    text: str


@action(
    triggers=(WebTrigger("PUT", "/notes/{note_id}"),),
    examples=(Example(name="first", params={"note_id": "n1", "text": "hi"}, result={"note_id": "n1", "text": "hi"}),),
)
def put_note(note_id: str, text: str) -> Note:
    """Store a note (open to anyone; PUT with a JSON body)."""
    return Note(note_id, text)


@action(
    triggers=(WEB_GET,),
    examples=(Example(name="world", params={"name": "World"}, result="Hello World!"),),
)
def say_hello(name: str) -> str:
    """Greet someone (open; its function never sees the JWT key)."""
    return f"Hello {name}!"
