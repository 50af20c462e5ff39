"""YAML for files users hand us (scenes, model configs): safe types only, bounded nesting, and no
aliases of lists or mappings, so a few hundred bytes cannot expand into 10^10 shared items
("billion laughs") or nest deep enough to exhaust the stack."""

from __future__ import annotations

import reprlib

import yaml

MAX_DEPTH = 64  # scenes and configs nest 4 levels deep
MAX_ALIASES = 256

_REPR = reprlib.Repr()
_REPR.maxstring, _REPR.maxother, _REPR.maxlist, _REPR.maxdict, _REPR.maxlevel = 40, 40, 4, 4, 2


def short_repr(value) -> str:
    """repr that stops early: never formats all of an unbounded value from a file."""
    return _REPR.repr(value)


class YamlLimitError(yaml.YAMLError):
    def __init__(self, problem: str, mark=None):
        super().__init__(problem)
        self.problem, self.problem_mark = problem, mark


class _BoundedLoader(yaml.SafeLoader):
    def __init__(self, stream):
        super().__init__(stream)
        self._depth = 0
        self._aliases = 0

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            self._aliases += 1
            target = self.anchors.get(event.anchor)
            if self._aliases > MAX_ALIASES:
                raise YamlLimitError(f"more than {MAX_ALIASES} aliases (*name)", event.start_mark)
            if target is not None and not isinstance(target, yaml.ScalarNode):
                raise YamlLimitError("aliases (*name) of lists or mappings are not supported; "
                                     "write the values out", event.start_mark)
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise YamlLimitError(f"nested more than {MAX_DEPTH} levels deep", mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def load_yaml(text: str):
    """yaml.safe_load with the bounds above; raises yaml.YAMLError (problem, problem_mark) otherwise."""
    loader = _BoundedLoader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()
