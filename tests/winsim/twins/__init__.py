"""Python twins of the modules of other collections that run on the simulated hosts.

The collection's own PowerShell modules are never twinned: the simulator runs their real
``.ps1``/``.psm1`` (``tests/winsim/ps``). The modules of ``ansible.windows`` and
``community.windows`` that the tests and the benchmark's baseline use are modelled here: each
twin does to a simulated host what that module does to a real one. Twins are registered by
fully-qualified module name with ``@twin``; ``dispatch`` runs one.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from typing import Any

from ..host import ModuleFail, SimHost, TwinContext

__all__ = ["TWINS", "ModuleFail", "TwinContext", "check_args", "dispatch", "load_all", "twin"]

TwinFunc = Callable[[SimHost, dict, TwinContext], dict]
TWINS: dict[str, TwinFunc] = {}

# Keys Ansible adds to every module's complex_args.
_INTERNAL_PREFIX = "_ansible_"


def twin(*names: str) -> Callable[[TwinFunc], TwinFunc]:
    def register(func: TwinFunc) -> TwinFunc:
        for name in names:
            TWINS[name] = func
        return func

    return register


def load_all() -> None:
    """Import every twin module (registration happens at import; importing twice is a no-op)."""
    _load_all()


def user_args(args: dict) -> dict:
    return {k: v for k, v in args.items() if not k.startswith(_INTERNAL_PREFIX)}


def check_args(module: str, args: dict, accepted: dict[str, Any]) -> dict:
    """Validate like Ansible.Basic: reject unknown options, apply defaults.

    ``accepted`` maps option name to its default (use ``...`` for required options).
    """
    given = user_args(args)
    unknown = sorted(set(given) - set(accepted))
    if unknown:
        raise ModuleFail(
            "Unsupported parameters for (%s) module: %s. Supported parameters include: %s"
            % (module, ", ".join(unknown), ", ".join(sorted(accepted)))
        )
    out = {}
    for name, default in accepted.items():
        if name in given and given[name] is not None:
            out[name] = given[name]
        elif default is ...:
            raise ModuleFail("missing required arguments: %s" % name)
        else:
            out[name] = default
    return out


def _load_all() -> None:
    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{info.name}")


def dispatch(host: SimHost, module: str, args: dict) -> tuple[int, dict, TwinContext]:
    """Run the twin of ``module`` on ``host``. Returns (rc, result, context)."""
    if module not in TWINS:
        _load_all()
    ctx = TwinContext(
        check_mode=bool(args.get("_ansible_check_mode", False)),
        diff=bool(args.get("_ansible_diff", False)),
    )
    func = TWINS.get(module)
    if func is None:
        return (
            1,
            {
                "failed": True,
                "msg": "winsim: no simulator twin for module '%s'; the simulated host cannot run it" % module,
            },
            ctx,
        )
    with host.lock:
        host.tick()
        try:
            result = func(host, args, ctx)
        except ModuleFail as exc:
            result = {"failed": True, "msg": exc.msg, **exc.extra}
            result.setdefault("changed", False)
            return 1, result, ctx
    result.setdefault("changed", False)
    if ctx.warnings:
        result.setdefault("warnings", []).extend(ctx.warnings)
    return 0, result, ctx
