"""Greetings: the smallest action, a GET with a query parameter."""

from servey_faas import WEB_GET, Example, action


@action(
    triggers=(WEB_GET,),
    examples=(Example(name="world", params={"name": "World"}, result="Hello World!"),),
)
def say_hello(name: str) -> str:
    """Greet a user by name."""
    return f"Hello {name}!"
