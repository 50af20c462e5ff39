"""Read a pickle's opcode stream before anything is built: bound how deep its objects nest, and
refuse a file that changes the state of a global it names.

The unpickler resolves globals to real, process-wide objects (tensor rebuild functions, classes). BUILD,
SETITEM(S), APPEND(S) and ADDITEMS on such an object would change it for every later load in the same
process (e.g. a rebuild function's ``__defaults__``), even when the file is refused afterwards. A network
pickle only ever mutates the objects it creates, so this scan simulates the stack with one record per
object (its nesting depth, whether it is a global) and refuses before the unpickler runs.

Nesting is bounded because deep structures crash Python in C (hashing a tuple nested 10^6 deep as a
dict key overflows the C stack) or hit the recursion limit in the readers; real snapshots nest < 60.
"""

from __future__ import annotations

import pickletools

from ..errors import ModelLoadError

MAX_DEPTH = 200  # nesting of built objects (containers, reduce results); StyleGAN3 snapshots reach ~40
_MUTATORS = {"BUILD", "SETITEM", "SETITEMS", "APPEND", "APPENDS", "ADDITEMS"}
_GLOBALS = {"GLOBAL", "STACK_GLOBAL"}
_MARK = object()


class _Obj:
    """What the scan knows about one object on the stack: shared by every reference (memo, DUP)."""

    __slots__ = ("depth", "is_global")

    def __init__(self, depth: int = 0, is_global: bool = False):
        self.depth, self.is_global = depth, is_global


def scan_pickle(data: bytes, name: str, max_depth: int = MAX_DEPTH) -> None:
    """Raise ModelLoadError if the opcode stream mutates a global, nests deeper than max_depth, or
    cannot be followed (a stream the scan cannot follow is never handed to the unpickler)."""
    stack: list = []
    memo: dict = {}
    try:
        for op, arg, _ in pickletools.genops(data):
            if not _step(op, arg, stack, memo, name, max_depth):
                return
    except ModelLoadError:
        raise
    except Exception as e:
        if any(w in str(e) for w in ("exhausted", "remain", "not enough data", "no newline")):
            raise ModelLoadError(f"{name} is truncated: the pickle ends early; download it again") from None
        raise ModelLoadError(f"{name} is not a readable network pickle (malformed opcode stream)") from None
    raise ModelLoadError(f"{name} is truncated: the pickle ends early; download it again")


def _step(op, arg, stack: list, memo: dict, name: str, max_depth: int) -> bool:
    kind = op.name
    if kind == "STOP":
        return False
    if kind == "MARK":
        stack.append(_MARK)
        return True
    if kind in ("PUT", "BINPUT", "LONG_BINPUT"):
        memo[arg] = stack[-1]
        return True
    if kind == "MEMOIZE":
        memo[len(memo)] = stack[-1]
        return True
    if kind in ("GET", "BINGET", "LONG_BINGET"):
        stack.append(memo[arg])
        return True
    if kind == "DUP":
        stack.append(stack[-1])
        return True
    before = op.stack_before
    if pickletools.stackslice in before:  # the items above the topmost mark
        mark = len(stack) - 1 - stack[::-1].index(_MARK)
        items, fixed = stack[mark + 1:], before[:before.index(pickletools.markobject)]
        del stack[mark:]
    else:
        items, fixed = [], before
    popped = stack[len(stack) - len(fixed):] if fixed else []
    if len(popped) != len(fixed) or any(p is _MARK for p in popped + items):
        raise ValueError("malformed stack")
    if fixed:
        del stack[len(stack) - len(fixed):]
    if kind in _MUTATORS:
        target, parts = popped[0], popped[1:] + items
        if target.is_global:
            raise ModelLoadError(f"refused {name}: it changes the state of a global it names "
                                 f"({kind} on a class or function); only network pickles are loaded")
        target.depth = max([target.depth] + [p.depth + 1 for p in parts])
        _bound(target.depth, name, max_depth)
        stack.append(target)
        return True
    if kind in _GLOBALS:
        stack.append(_Obj(0, is_global=True))
        return True
    depth = max((p.depth + 1 for p in popped + items), default=0)
    _bound(depth, name, max_depth)
    stack.extend(_Obj(depth) for _ in op.stack_after)
    return True


def _bound(depth: int, name: str, max_depth: int) -> None:
    if depth > max_depth:
        raise ModelLoadError(f"refused {name}: its objects nest more than {max_depth} levels deep; "
                             "network pickles never do")
