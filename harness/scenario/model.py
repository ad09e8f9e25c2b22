"""The experiment file (TOML): load it, validate it before anything starts, fill in defaults.

Every problem becomes one ScenarioError line naming the file, the field path and what is allowed:
`scenarios/x.toml: faults[1].attributes.latency: must be a whole number >= 0, got "fast"`.
"""

from __future__ import annotations

import json
import math
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import ErrorDetails

from harness.errors import ScenarioError
from harness.faultproxy.errors import BAD_REQUEST_BODY, ApiError
from harness.faultproxy.toxics import REGISTRY
from harness.faultproxy.toxics.base import ATTRIBUTE_LIMIT, UNITS_PER_SECOND, AttributeSpec
from harness.records.files import Expectation
from harness.scenario.flows import (
    DECLARATIVE_USER,
    MAX_SECONDS,
    Credentials,
    ErrorKindRule,
    Flow,
    FlowsSpec,
    Setup,
    check_flow_names,
    declarative_problem,
    template_problem,
)
from harness.scenario.load import (
    ArrivalSpacing,
    LatencyObjective,
    Stage,
    as_objective_list,
    check_stages,
    preset_profile,
)
from harness.scenario.service import RedisUnderService, Service, ServiceOverride

# Run folders and record files are named after scenarios and variants: no path separators, NUL or dot-dot
# tricks, and short enough for any file system's 255-byte name limit with the timestamp added.
MAX_NAME_LENGTH = 100
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]*")   # never "..", never a leading "-" read as a flag


@dataclass(frozen=True)
class ToxicAttribute:
    """One integer attribute of a toxic as a scenario must give it: its unit (with conditions), whether it is
    required, and its range."""

    unit: str
    required: bool
    minimum: int
    maximum: int


def _scenario_attribute(spec: AttributeSpec) -> ToxicAttribute:
    per_second = UNITS_PER_SECOND.get(spec.unit)
    maximum = MAX_SECONDS * per_second if per_second else ATTRIBUTE_LIMIT  # a time at most a week
    return ToxicAttribute(spec.described(), spec.required, spec.minimum, maximum)


# Toxiproxy's toxics and their attributes, from the fault proxy's registry. Stricter than its API: a scenario
# names what it injects, and nothing that would crash or hang a real Toxiproxy gets through (a slicer's
# average_size = 0 or size_variation >= average_size recurses forever there).
TOXICS: dict[str, dict[str, ToxicAttribute]] = {
    name: {key: _scenario_attribute(spec) for key, spec in params.attribute_specs().items()}
    for name, params in REGISTRY.items()
}
TOXIC_ATTRIBUTES: dict[str, tuple[str, ...]] = {name: tuple(attrs) for name, attrs in TOXICS.items()}
PROXY_NAMES = ("redis", "edge")
# With [redis] topology = "sentinel": each replica's client proxy and the proxy it replicates through.
_TOPOLOGY_PROXY = re.compile(r"(redis-replica|replication)-([1-9])")
PROCESS_ACTIONS = ("failover", "pause")   # faults on the primary's process, not on a proxy
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}
_SHOWN_MAX = 60


def parse_duration(value: Any) -> float:
    """Seconds from 90, 1.5, "90s", "500ms", "2m" or "1h"; ValueError with what is allowed."""
    if isinstance(value, bool):
        raise ValueError(f'must be a duration like 30, "30s", "500ms" or "2m", got {value!r}')
    if isinstance(value, int | float):
        try:
            seconds = float(value)
        except OverflowError:
            seconds = math.inf
    else:
        match = _DURATION.match(str(value))
        if not match:
            raise ValueError(f'must be a duration like 30, "30s", "500ms" or "2m", got {_shown(value)}')
        seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds < 0:
        raise ValueError(f"must be a duration >= 0, got {_shown(value)}")
    if not seconds <= MAX_SECONDS:   # also NaN
        raise ValueError(f"must be a duration of at most {MAX_SECONDS} s (a week), got {_shown(value)}")
    return seconds


def _shown(value: Any) -> str:
    """A value as the error line shows it: on one line, and short (a 400-digit number is cut)."""
    text = f'"{value}"' if isinstance(value, str) else repr(value)
    text = one_line(text)
    return text if len(text) <= _SHOWN_MAX else text[:_SHOWN_MAX - 3] + "..."


def one_line(text: str) -> str:
    """Control characters (newline, NUL, ...) escaped, so an error is always a single printable line."""
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)


def check_name(value: str, what: str) -> str:
    """A name that becomes part of a file, folder or URL path; ValueError says what is allowed."""
    if not _NAME.fullmatch(value) or len(value) > MAX_NAME_LENGTH:
        raise ValueError(f"{what} {_shown(value)}: allowed: 1 to {MAX_NAME_LENGTH} letters, digits, '_', '.', "
                         "'+', '-', starting with a letter or digit")
    return value


Seconds = Annotated[float, Field(ge=0)]


class Strict(BaseModel):
    # No inf or NaN anywhere: `duration = inf` or `wait = [nan, nan]` would only break once the stack runs.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class UserClass(Strict):
    weight: int = Field(1, ge=0)
    wait: tuple[float, float] = (0.5, 1.5)   # seconds between a user's tasks, uniform
    fixed_count: int | None = Field(None, ge=0)

    @field_validator("wait")
    @classmethod
    def _ordered(cls, wait: tuple[float, float]) -> tuple[float, float]:
        if wait[0] < 0 or wait[1] < wait[0] or wait[1] > MAX_SECONDS:
            raise ValueError(f"must be [min, max] seconds with 0 <= min <= max <= {MAX_SECONDS}, got {list(wait)}")
        return wait


class NetworkProfile(Strict):
    """What the edge proxy adds for mobile users, each way; or a named one (`mobile_network = "slow-4g"`)."""

    latency_ms: int = Field(0, ge=0)
    jitter_ms: int = Field(0, ge=0)
    bandwidth_kbps: int = Field(0, ge=0)   # KB/s each way, 0 = unlimited
    upstream_kbps: int | None = Field(None, ge=0)     # KB/s client -> service; None: bandwidth_kbps
    downstream_kbps: int | None = Field(None, ge=0)   # KB/s service -> client; None: bandwidth_kbps
    preset: str | None = None                          # the named network this came from

    @model_validator(mode="before")
    @classmethod
    def _named(cls, data: Any) -> Any:
        return preset_profile(data) if isinstance(data, str) else data

    def rate_kbps(self, stream: str) -> int:
        chosen = self.upstream_kbps if stream == "upstream" else self.downstream_kbps
        return self.bandwidth_kbps if chosen is None else chosen


DEFAULT_LOCUSTFILE = "login_users.py"
DECLARATIVE_LOCUSTFILE = Path(__file__).resolve().parents[1] / "load" / "declarative_locustfile.py"


class Load(Strict):
    locustfile: str | None = None   # default: login_users.py, or the packaged declarative one with [[load.flows]]
    users: int = Field(40, ge=1)
    spawn_rate: float = Field(20, gt=0)
    duration: Seconds = 60.0
    seed: int = 1
    classes: dict[str, UserClass] = Field(default_factory=lambda: {"WebUser": UserClass()})
    mobile_network: NetworkProfile = NetworkProfile()
    options: dict[str, str | int | float | bool] = Field(default_factory=dict)  # passed to the locustfile
    flows: list[Flow] = Field(default_factory=list)   # declarative load: harness/scenario/flows.py
    credentials: Credentials | None = None
    setup: Setup | None = None
    error_kinds: list[ErrorKindRule] = Field(default_factory=list)
    # Open model (docs/load-models.md): flows per second whatever the service's speed; `users` is then unused.
    arrival_rate: float | None = Field(None, gt=0, le=100_000)
    arrivals: ArrivalSpacing = "poisson"
    max_in_flight: int = Field(1000, ge=1, le=200_000)   # cap on flows in progress (open model)
    arrival_timeout: Seconds = 10.0   # an arrival still waiting for a free slot after this never starts
    stages: list[Stage] = Field(default_factory=list)

    _stages = field_validator("stages")(classmethod(lambda cls, v: check_stages(v)))
    _timeout = field_validator("arrival_timeout", mode="before")(classmethod(lambda cls, v: parse_duration(v)))

    @model_validator(mode="before")
    @classmethod
    def _stage_durations(cls, data: Any) -> Any:
        # Stage durations take the same forms as the load's ("90s", "2m"); their total is the load's duration.
        if isinstance(data, dict) and isinstance(data.get("stages"), list) and data["stages"]:
            try:
                total = sum(parse_duration(stage["duration"]) for stage in data["stages"])
            except (ValueError, TypeError, KeyError):
                return data   # the stage's own validator names the bad one
            return {**data, "duration": min(total, MAX_SECONDS)}
        return data

    @model_validator(mode="after")
    def _stages_fit_model(self) -> Load:
        if self.stages and (self.stages[0].arrival_rate is not None) != self.open_model:
            raise ValueError("stages: arrival_rate stages need [load] arrival_rate (the open model); "
                             "users stages need it absent")
        return self

    @property
    def open_model(self) -> bool:
        return self.arrival_rate is not None

    _duration = field_validator("duration", mode="before")(classmethod(lambda cls, v: parse_duration(v)))
    _flow_names = field_validator("flows")(classmethod(lambda cls, v: check_flow_names(v)))

    @model_validator(mode="before")
    @classmethod
    def _declarative_class(cls, data: Any) -> Any:
        # Declarative flows run as one user class; the scenario need not name it.
        if isinstance(data, dict) and data.get("flows") and not data.get("locustfile") and "classes" not in data:
            return {**data, "classes": {DECLARATIVE_USER: {}}}
        return data

    @property
    def declarative(self) -> bool:
        """Flows given and no locustfile: the harness's own declarative locustfile runs them."""
        return bool(self.flows) and self.locustfile is None

    def flows_spec(self, workers: int = 1) -> dict[str, Any] | None:
        """The flows as the declarative Locust user reads them (JSON), or None without flows."""
        if not (self.flows or self.error_kinds):
            return None
        spec = FlowsSpec(flows=self.flows, credentials=self.credentials, setup=self.setup,
                         error_kinds=self.error_kinds, workers=max(1, workers))
        return spec.model_dump(mode="json", by_alias=True)

    @field_validator("classes")
    @classmethod
    def _some_class(cls, classes: dict[str, UserClass]) -> dict[str, UserClass]:
        if not classes:
            raise ValueError("must name at least one user class")
        for name in classes:  # they name classes of the locustfile, and go on Locust's command line
            if not name.isidentifier() or len(name) > MAX_NAME_LENGTH:
                raise ValueError(f"class name {_shown(name)}: allowed: a Python class name of the locustfile")
        return classes


class Fault(Strict):
    proxy: str = "redis"
    at: Seconds = 0.0
    duration: Seconds | None = None
    down: bool = False
    type: str | None = None
    action: Literal["failover", "pause"] | None = None   # [redis] topology = "sentinel" only
    stream: Literal["upstream", "downstream"] = "downstream"
    toxicity: float = Field(1.0, ge=0, le=1)
    attributes: dict[str, Any] = Field(default_factory=dict)
    name: str | None = None

    _times = field_validator("at", "duration", mode="before")(
        classmethod(lambda cls, v: None if v is None else parse_duration(v)))

    @field_validator("name")
    @classmethod
    def _toxic_name(cls, value: str | None) -> str | None:
        # Toxiproxy names go into URLs (/proxies/redis/toxics/NAME): no slash, space or control character.
        return None if value is None else check_name(value, "toxic name")

    @field_validator("proxy")
    @classmethod
    def _known_proxy(cls, value: str) -> str:
        if value not in PROXY_NAMES and not _TOPOLOGY_PROXY.fullmatch(value):
            raise ValueError(f"must be redis, edge, redis-replica-N or replication-N (N from 1 to 9), "
                             f"got {_shown(value)}")
        return value

    @field_validator("type")
    @classmethod
    def _known_type(cls, value: str | None) -> str | None:
        if value is not None and value not in TOXIC_ATTRIBUTES:
            raise ValueError(f"must be one of {', '.join(TOXIC_ATTRIBUTES)}, got {_shown(value)}")
        return value

    @model_validator(mode="after")
    def _toxic_or_down(self) -> Fault:
        if [self.down, self.type is not None, self.action is not None].count(True) != 1:
            raise ValueError("give one of type = \"<toxic>\", down = true or action = \"failover\"|\"pause\"")
        if (self.down or self.action) and self.attributes:
            raise ValueError(f"a {'down' if self.down else self.action} fault takes no attributes")
        if self.action and self.proxy != "redis":
            raise ValueError(f"action {self.action} acts on the primary's process: leave proxy out (or \"redis\")")
        if self.action == "pause" and self.duration is None:
            raise ValueError("a pause needs a duration (the process is frozen until it ends)")
        return self

    @property
    def label(self) -> str:
        if self.action == "failover":
            return "redis primary stopped (failover)"
        if self.action == "pause":
            return "redis primary paused"
        if self.down:
            return f"{self.proxy} down"
        attrs = self.attributes
        if self.type == "latency":
            jitter = f"±{attrs['jitter']}" if attrs.get("jitter") else ""
            return f"{self.proxy} latency {attrs.get('latency', 0)}{jitter} ms"
        shown = ", ".join(f"{k}={v}" for k, v in attrs.items())
        return f"{self.proxy} {self.type} {shown}".strip()


def flag_text(value: object) -> str:
    """A flag value as the service's --flag NAME=VALUE takes it (true/false, not True/False)."""
    return str(value).lower() if isinstance(value, bool) else str(value)


class Variant(Strict):
    profile: Literal["buggy", "fixed"] = "fixed"
    flags: dict[str, str | int | float | bool] = Field(default_factory=dict)
    client: dict[str, str | int | float | bool] = Field(default_factory=dict)  # client-side flags (Locust)
    expect: Expectation | None = "pass"   # None: explored, not judged (ablation steps)
    description: str = ""
    service: ServiceOverride | None = None   # merged over [service] for this variant


class Target(Strict):
    metric: str = "login"   # the flow whose success rate is judged
    minimum: float = Field(0.99, gt=0, lt=1)
    confidence: float = Field(0.95, gt=0.5, lt=1)
    latency: list[LatencyObjective] = Field(default_factory=list)   # harness/scenario/load.py
    max_lost_sessions: int | None = Field(None, ge=0)   # sessions handed out, then lost (a failover's writes)

    _objectives = field_validator("latency", mode="before")(classmethod(lambda cls, v: as_objective_list(v)))


class ScenarioMeta(Strict):
    name: str = ""
    description: str = ""

    @field_validator("name")
    @classmethod
    def _file_safe(cls, name: str) -> str:
        return check_name(name, "scenario name") if name else name


class Scenario(Strict):
    scenario: ScenarioMeta = ScenarioMeta()
    load: Load = Load()
    service: Service = Service()
    redis: RedisUnderService = RedisUnderService()
    faults: list[Fault] = Field(default_factory=list)
    variants: dict[str, Variant] = Field(default_factory=lambda: {
        "buggy": Variant(profile="buggy", expect="fail"), "fixed": Variant(profile="fixed", expect="pass")})
    target: Target = Target()

    @model_validator(mode="after")
    def _names(self) -> Scenario:
        for name in self.variants:
            check_name(name, "variants: variant name")
        return self

    @model_validator(mode="after")
    def _topology_faults(self) -> Scenario:
        """Process faults, replica proxies and Sentinel placeholders exist only in a Sentinel topology."""
        services = json.dumps(self.model_dump(mode="json", include={"service", "variants"}))
        if "{sentinel_" in services and self.redis.topology != "sentinel":
            raise ValueError("{sentinel_addresses} and {sentinel_master} need [redis] topology = \"sentinel\"")
        for index, fault in enumerate(self.faults):
            match = _TOPOLOGY_PROXY.fullmatch(fault.proxy)
            needs = fault.action or (match and fault.proxy)
            if needs and self.redis.topology != "sentinel":
                raise ValueError(f"faults[{index}]: {needs} needs [redis] topology = \"sentinel\"")
            if match and int(match.group(2)) > self.redis.replicas:
                raise ValueError(f"faults[{index}].proxy: {fault.proxy} names a replica the topology lacks; "
                                 f"allowed: 1 to [redis] replicas = {self.redis.replicas}")
        return self

    @model_validator(mode="after")
    def _toxic_names(self) -> Scenario:
        """Two toxics of one name on one proxy at once: the fault proxy refuses the second (409) mid-run."""
        placed: list[tuple[str, str, float, float, int]] = []
        for index, fault in enumerate(self.faults):
            if fault.down or fault.action:
                continue
            name = fault.name or f"f{index}_{fault.type}_{fault.stream}"
            end = fault.at + fault.duration if fault.duration is not None else math.inf
            for proxy, other, start, other_end, other_index in placed:
                if (proxy, other) == (fault.proxy, name) and fault.at < other_end and start < end:
                    raise ValueError(f"faults[{index}].name: {_shown(name)} is already faults[{other_index}]'s on "
                                     f"{proxy} at that time; allowed: a name unique among faults active together")
            placed.append((fault.proxy, name, fault.at, end, index))
        return self

    @model_validator(mode="after")
    def _reference_flags(self) -> Scenario:
        """Variant flags checked against the reference service's own, so a bad one fails before anything starts.

        Only for the reference service: a service of the user's own (`[service] command` or `url`) has no flags.
        """
        if getattr(self.service, "command", None) or getattr(self.service, "url", None):
            return self
        # Imported here: it loads the service's package (FastAPI), which only this check needs.
        from harness.authsvc.flags import flag_value

        for variant_name, variant in self.variants.items():
            for flag, value in variant.flags.items():
                try:
                    flag_value(flag, flag_text(value))
                except ValueError as exc:
                    raise ValueError(f"variants.{variant_name}.flags.{one_line(flag)}: {exc}") from None
        return self

    @model_validator(mode="after")
    def _own_service(self) -> Scenario:
        """Your own service's variants differ by its env, command or url, never by the reference's flags."""
        if not self.service.is_reference and "variants" not in self.model_fields_set:
            # The default buggy/fixed pair is the reference service's; your own runs once, judged.
            object.__setattr__(self, "variants", {"service": Variant()})
        for name, variant in self.variants.items():
            service = self.service_for(name)
            if service.is_reference:
                if variant.service is not None and variant.service.model_fields_set:
                    raise ValueError(f"variants.{name}.service: give a command or url here or in [service]; "
                                     "the reference service takes profile and flags")
                continue
            for field in ("profile", "flags"):
                if field in variant.model_fields_set:
                    raise ValueError(f"variants.{name}.{field}: applies to the reference service only; "
                                     f"a variant of your own service differs by service.env, command or url")
        return self

    def service_for(self, variant: str) -> Service:
        """[service] with the variant's [variants.NAME.service] merged over it."""
        chosen = self.variants.get(variant)
        try:
            return self.service.merged(chosen.service if chosen else None)
        except ValidationError as exc:
            raise ValueError(f"variants.{variant}.service: {_message(exc.errors()[0])}") from None

    @property
    def name(self) -> str:
        return self.scenario.name

    def uses_edge(self) -> bool:
        return (any(f.proxy == "edge" for f in self.faults) or self.load.mobile_network != NetworkProfile()
                or any(flow.via_edge for flow in self.load.flows))


def _field_path(loc: tuple[Any, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif not str(part).startswith(("function-", "tagged-union")):
            name = one_line(str(part))   # a key is user text too: a 400-digit key must not make a long line
            name = name if len(name) <= _SHOWN_MAX else name[:_SHOWN_MAX - 3] + "..."
            path += f".{name}" if path else name
    return path


def _allowed_fields(loc: tuple[Any, ...]) -> list[str]:
    """The field names allowed where an unknown field was found, by walking the models along `loc`."""
    model: Any = Scenario
    for part in loc[:-1]:
        if isinstance(part, int) or model is None:
            continue
        field = model.model_fields.get(str(part)) if hasattr(model, "model_fields") else None
        if field is None:   # a dict key such as a variant or class name
            continue
        annotation = field.annotation
        args = getattr(annotation, "__args__", ())
        model = next((a for a in (annotation, *args) if isinstance(a, type) and issubclass(a, BaseModel)), None)
    if model is None or not hasattr(model, "model_fields"):
        return []
    return [info.alias or name for name, info in model.model_fields.items()]


def _message(error: ErrorDetails) -> str:
    kind = error["type"]
    msg = str(error["msg"]).removeprefix("Value error, ")
    if kind == "extra_forbidden":
        allowed = _allowed_fields(error["loc"])
        return f"unknown field, allowed: {', '.join(allowed)}" if allowed else "unknown field"
    if kind == "missing":
        return "is required"
    if kind == "literal_error":
        return f"{msg}, got {_shown(error.get('input'))}".replace("Input should be", "must be")
    if kind.endswith(("_type", "_parsing", "_less_than", "_greater_than", "_less_than_equal",
                      "_greater_than_equal")) or kind.startswith(("greater", "less")):
        return f"{msg.replace('Input should be', 'must be')}, got {_shown(error.get('input'))}"
    return msg


def _toxic_attributes(fault: dict[str, Any]) -> tuple[str, dict[str, ToxicAttribute], dict[str, Any]]:
    kind = fault.get("type")
    specs = TOXICS.get(kind, {}) if isinstance(kind, str) else {}
    attributes = fault.get("attributes", {})
    return str(kind), specs, attributes if isinstance(attributes, dict) else {}


def _check_attributes(path: str, index: int, fault: dict[str, Any]) -> None:
    """Attribute names and types of a toxic, checked against Toxiproxy's (whole numbers >= 0)."""
    kind, specs, attributes = _toxic_attributes(fault)
    for key, value in attributes.items() if specs else ():
        where = f"{path}: faults[{index}].attributes.{one_line(str(key))}"
        if key not in specs:
            raise ScenarioError(f"{where}: unknown attribute of {kind}, allowed: {', '.join(specs)}")
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ScenarioError(f"{where}: must be a whole number >= 0, got {_shown(value)}")


def _check_attribute_values(path: str, index: int, fault: dict[str, Any]) -> None:
    """After the fault's own fields validated: required attributes, ranges, and the slicer's cross-check."""
    kind, specs, attributes = _toxic_attributes(fault)
    for key, spec in specs.items():
        where = f"{path}: faults[{index}].attributes.{key}"
        if key not in attributes:
            if spec.required:
                raise ScenarioError(f"{where}: is required for {kind} ({spec.unit})")
        elif not spec.minimum <= attributes[key] <= spec.maximum:
            raise ScenarioError(f"{where}: must be from {spec.minimum} to {spec.maximum} ({spec.unit}), "
                                f"got {_shown(attributes[key])}")
    if not specs:  # `down`, or a fault on a process: no toxic to check
        return
    try:
        REGISTRY[kind](**{key: attributes.get(key, 0) for key in specs}).validate()
    except ApiError as exc:  # what would crash or hang a real Toxiproxy (a slicer's size_variation >= average_size)
        # "attributes.size_variation must be less than attributes.average_size (...)", said as a scenario says it
        field, _, problem = exc.message.removeprefix(f"{BAD_REQUEST_BODY.message}: ").partition(" ")
        raise ScenarioError(f"{path}: faults[{index}].{field}: {problem.replace('attributes.', '')}") from None


def parse_scenario(data: dict[str, Any], path: str = "<scenario>") -> Scenario:
    """Validate a scenario from its TOML table; ScenarioError names the first field that is wrong."""
    faults = data.get("faults", [])
    if isinstance(faults, list):
        for index, fault in enumerate(faults):
            if isinstance(fault, dict):
                _check_attributes(path, index, fault)
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        first = errors[0]
        field = _field_path(first["loc"])
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        where = f"{path}: {one_line(field)}: " if field else f"{path}: "
        raise ScenarioError(f"{where}{one_line(_message(first))}{more}") from None
    for index, fault in enumerate(data.get("faults", [])):
        _check_attribute_values(path, index, fault)
    load = scenario.load
    problem = template_problem(load.flows, load.setup) or (
        declarative_problem(load.flows, set(load.classes), scenario.target.metric) if load.declarative else None)
    if problem:
        raise ScenarioError(f"{path}: {one_line(problem)}")
    return scenario


def read_toml(path: Path) -> dict[str, Any]:
    """The file's TOML table; ScenarioError (one line) for a file that cannot be read, decoded or parsed."""
    shown = one_line(str(path))
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ScenarioError(f"{shown}: no such scenario file") from None
    except OSError as exc:
        raise ScenarioError(f"{shown}: cannot read: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"{shown}: not UTF-8 text at byte {exc.start}; allowed: a UTF-8 TOML file "
                            "(save it as UTF-8, not UTF-16 or Latin-1)") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{shown}: not valid TOML: {one_line(str(exc))}") from None
    except ValueError as exc:   # an integer past Python's 4,300-digit limit for int()
        raise ScenarioError(f"{shown}: not valid TOML: {one_line(str(exc))[:200]}") from None
    except RecursionError:
        raise ScenarioError(f"{shown}: not valid TOML: arrays or tables nested too deeply") from None


def load_scenario(path: Path) -> Scenario:
    """Read, parse and validate a scenario file, and check its Locust file exists."""
    shown = one_line(str(path))
    data = read_toml(path)
    try:
        scenario = parse_scenario(data, shown)
    except RecursionError:   # nesting tomllib took, one level too deep for the validator
        raise ScenarioError(f"{shown}: arrays or tables nested too deeply") from None
    if not scenario.scenario.name:
        scenario = scenario.model_copy(update={"scenario": ScenarioMeta(
            name=name_from_file(path), description=scenario.scenario.description)})
    try:
        locustfile = locustfile_path(path, scenario)
        found = locustfile.is_file()
    except (OSError, ValueError):   # a NUL or an over-long name in the path
        found = False
    if not found:
        named = scenario.load.locustfile or DEFAULT_LOCUSTFILE
        raise ScenarioError(f"{shown}: load.locustfile: no such file {_shown(named)}")
    return _with_credentials_file(scenario, path)


def _with_credentials_file(scenario: Scenario, path: Path) -> Scenario:
    """The credentials file made absolute (it is relative to the scenario file) and checked now."""
    credentials = scenario.load.credentials
    if credentials is None or credentials.file is None:
        return scenario
    try:
        resolved = credentials.resolved(path.parent)
    except ValueError as exc:
        raise ScenarioError(f"{one_line(str(path))}: load.credentials.file: {one_line(str(exc))}") from None
    load = scenario.load.model_copy(update={"credentials": resolved})
    return scenario.model_copy(update={"load": load})


def name_from_file(path: Path) -> str:
    """The scenario's name when [scenario] gives none: the file's stem, made safe for a folder name."""
    name = re.sub(r"[^A-Za-z0-9_.+-]", "-", path.stem).lstrip("._+-")[:MAX_NAME_LENGTH]
    return name or "scenario"


def locustfile_path(scenario_path: Path, scenario: Scenario) -> Path:
    """The Locust file, relative to the scenario file's folder; the packaged one for declarative flows."""
    if scenario.load.declarative:
        return DECLARATIVE_LOCUSTFILE
    return (scenario_path.parent / (scenario.load.locustfile or DEFAULT_LOCUSTFILE)).resolve()
