"""The actions of the hello-world app: one GET and one POST, each with examples that run as tests."""

from dataclasses import dataclass

from servey_faas import WEB_GET, WEB_POST, Example, action


@action(
    triggers=(WEB_GET,),
    examples=(
        Example(name="world", params={"name": "World"}, result="Hello World!"),
        Example(name="default", params={}, result="Hello stranger!", description="name is optional"),
    ),
)
def say_hello(name: str = "stranger") -> str:
    """Greet someone by name."""
    return f"Hello {name}!"


@dataclass(frozen=True)
class Greeting:
    """A greeting for one person, repeated ``times`` times."""

    name: str
    times: int = 1


@action(
    triggers=(WEB_POST,),
    examples=(
        Example(
            name="twice",
            params={"greeting": {"name": "Ada", "times": 2}},
            result=["Hello Ada!", "Hello Ada!"],
        ),
    ),
)
async def greet_many(greeting: Greeting) -> list[str]:
    """Greet one person several times (an async action taking a JSON body)."""
    return [f"Hello {greeting.name}!"] * greeting.times
