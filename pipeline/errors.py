"""Errors meant for people: each names what was wrong and where. The CLI prints them in one
line and exits with code 2."""


class InputError(Exception):
    """Bad user input (config, video, model path); the message is shown as is."""


class ConfigError(InputError):
    """A config that does not validate; `problems` holds one line per problem."""

    def __init__(self, path: str, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        super().__init__(f"{path}: " + "; ".join(problems))
