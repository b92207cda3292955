"""Local fakes of Microsoft Entra sign-in, the Defender for Endpoint API and Microsoft Graph.

Started next to a simulated fleet (same state dir), so the whole chain runs end to end:
onboard a simulated host over WinRM -> the fake Defender API lists it as Active.

::

    python -m tests.winsim.cloud --state-dir DIR --fleet FLEET.yml --out CONFIG.json [--port N]

writes ``CONFIG.json`` (URLs, CA, tenant/client ids and secrets) once listening and runs until
SIGTERM/SIGINT. The fleet file's ``tenant:`` and ``cloud:`` blocks configure it (see
``config.py``); faults, limits and counters can also be changed at run time through
``/_fake/...`` (see ``server.py``). Files live in ``DIR/cloud/``: ``counters.json``,
``graph.json`` (Intune policies), ``tls/`` (the generated CA and server certificate) and the
generated client certificates.
"""

from .config import CloudConfig, parse_config
from .server import CloudState, make_server

__all__ = ["CloudConfig", "CloudState", "make_server", "parse_config"]
