"""The service under test in a scenario file: `[service]`, `[redis]` and `[variants.NAME.service]`.

Three kinds of service: the reference one (no `command`, no `url`), a `command` the harness starts per
variant, or a `url` of one already running. Placeholders such as `{port}` and `{redis_url}` in a
command, its cwd and env are checked here, before anything starts, and filled in by the stack.
"""

from __future__ import annotations

import shlex
import string
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Seconds = Annotated[float, Field(ge=0)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _seconds(value: Any) -> float | None:
    # Imported here: harness.scenario.model imports this module at its top.
    from harness.scenario.model import parse_duration

    return None if value is None else parse_duration(value)


PLACEHOLDERS = ("port", "host", "redis_url", "redis_host", "redis_port", "variant", "run_dir",
                "sentinel_addresses", "sentinel_master")   # these two with [redis] topology = "sentinel" only


def placeholder_names(text: str) -> list[str]:
    """The `{name}` fields of a text (`{{` and `}}` are literal braces); ValueError for broken braces."""
    return [name for _, name, _, _ in string.Formatter().parse(text) if name is not None]


def check_placeholders(text: str) -> None:
    """ValueError naming the first placeholder that is not one of PLACEHOLDERS."""
    allowed = ", ".join("{" + p + "}" for p in PLACEHOLDERS)
    try:
        names = placeholder_names(text)
    except ValueError:
        raise ValueError(f"unbalanced braces in {text!r}; write {{{{ and }}}} for literal braces, "
                         f"placeholders allowed: {allowed}") from None
    for name in names:
        if name not in PLACEHOLDERS:
            raise ValueError(f"unknown placeholder {{{name}}}, allowed: {allowed}")


def fill_placeholders(text: str, values: dict[str, str]) -> str:
    """The text with every placeholder replaced (they were checked when the scenario was read)."""
    parts = []
    for literal, name, _, _ in string.Formatter().parse(text):
        parts.append(literal)
        if name is not None:
            parts.append(values[name])
    return "".join(parts)


def _command_list(value: Any) -> Any:
    """A command as a list of arguments, or a string split the way a POSIX shell splits words."""
    if isinstance(value, str):
        try:
            words = shlex.split(value)
        except ValueError as exc:
            raise ValueError(f"cannot split {value!r} into words: {exc}") from None
        if not words:
            raise ValueError("must name a program to run, got an empty command")
        return words
    return value


class ServiceFields(Strict):
    """What `[service]` and `[variants.NAME.service]` share; None means "not given here"."""

    command: list[str] | None = None
    cwd: str | None = None
    env: dict[str, str | None] = Field(default_factory=dict)  # None (never from TOML): drop the key
    ready: str | None = None
    ready_timeout: Seconds | None = None
    url: str | None = None

    _split = field_validator("command", mode="before")(classmethod(lambda cls, v: _command_list(v)))
    _timeout = field_validator("ready_timeout", mode="before")(classmethod(lambda cls, v: _seconds(v)))

    @field_validator("command")
    @classmethod
    def _some_program(cls, command: list[str] | None) -> list[str] | None:
        if command is not None:
            if not command or not command[0]:
                raise ValueError("must name a program to run, got an empty command")
            for word in command:
                check_placeholders(word)
        return command

    @field_validator("cwd")
    @classmethod
    def _cwd_placeholders(cls, cwd: str | None) -> str | None:
        if cwd is not None:
            check_placeholders(cwd)
        return cwd

    @field_validator("env")
    @classmethod
    def _env_placeholders(cls, env: dict[str, str | None]) -> dict[str, str | None]:
        for key, value in env.items():
            if value is not None:
                try:
                    check_placeholders(value)
                except ValueError as exc:
                    raise ValueError(f"{key}: {exc}") from None
        return env

    @field_validator("ready")
    @classmethod
    def _path(cls, ready: str | None) -> str | None:
        if ready is not None and not ready.startswith("/"):
            raise ValueError(f'must be an HTTP path starting with "/", got "{ready}"')
        return ready

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: str | None) -> str | None:
        if url is not None and not url.startswith(("http://", "https://")):
            raise ValueError(f'must be an http:// or https:// URL, got "{url}"')
        return url.rstrip("/") if url else url


class ServiceOverride(ServiceFields):
    """`[variants.NAME.service]`: merged over `[service]` (env key by key; command, cwd, url replace)."""


class Service(ServiceFields):
    """`[service]`: the reference service (users, workers) or the user's own (command or url)."""

    users: int = Field(1000, ge=1)      # reference service: seeded user0..user{N-1}; Locust picks among them
    workers: int = Field(1, ge=1, le=16)

    @model_validator(mode="after")
    def _one_kind(self) -> Service:
        if self.command is not None and self.url is not None:
            raise ValueError("give either command (the harness starts it) or url (already running), not both")
        if not self.is_reference and "workers" in self.model_fields_set:
            raise ValueError("workers applies to the reference service only; set your service's own "
                             "worker count in its command or env")
        if self.url is not None and (self.cwd is not None or self.env):
            raise ValueError("cwd and env go with command; a service at url is started by someone else")
        return self

    @property
    def is_reference(self) -> bool:
        return self.command is None and self.url is None

    @property
    def ready_path(self) -> str:
        return self.ready or "/"

    @property
    def ready_timeout_s(self) -> float:
        return 30.0 if self.ready_timeout is None else self.ready_timeout

    def merged(self, override: ServiceOverride | None) -> Service:
        """This service with a variant's override on top; None values keep this one's."""
        if override is None:
            return self
        update: dict[str, Any] = {k: getattr(override, k) for k in override.model_fields_set if k != "env"}
        update = {k: v for k, v in update.items() if v is not None}
        if "command" in update:
            update["url"] = None
        elif "url" in update:
            update["command"] = None
        env = {**self.env, **override.env}
        update["env"] = {k: v for k, v in env.items() if v is not None}
        return Service.model_validate({**self.model_dump(exclude_unset=True), **update})


class RedisUnderService(Strict):
    """`[redis]`: an existing Redis behind the `redis` proxy, and/or a fixed listen address for that proxy."""

    upstream: str | None = None   # HOST:PORT; default a throwaway Redis the harness starts
    listen: str | None = None     # HOST:PORT the `redis` proxy listens on; default a free loopback port
    # "sentinel": a primary, replicas and three Sentinels the harness starts (harness/stack/sentinel.py)
    topology: Literal["single", "sentinel"] = "single"
    replicas: int = Field(1, ge=1, le=9)
    down_after_ms: int = Field(1000, ge=100, le=600_000)       # Sentinel's down-after-milliseconds
    failover_timeout_ms: int = Field(180_000, ge=1000, le=3_600_000)   # Sentinel's default; see docs/failover.md

    @model_validator(mode="after")
    def _own_or_sentinel(self) -> RedisUnderService:
        if self.topology == "sentinel" and (self.upstream or self.listen):
            raise ValueError("topology = \"sentinel\" starts its own Redis processes: leave upstream and listen out")
        return self

    @field_validator("upstream", "listen")
    @classmethod
    def _host_port(cls, value: str | None) -> str | None:
        if value is None:
            return None
        host, _, port = value.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f'must be "HOST:PORT", got "{value}"')
        return value
