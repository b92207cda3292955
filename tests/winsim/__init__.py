"""The simulated Windows fleet: WinRM endpoints on loopback answering from Python host models.

Layers (see ``docs/development.md``): ``wsman`` (HTTP + SOAP + WinRS), ``payload`` (what
Ansible sent), ``raw`` (raw PowerShell scripts), ``server`` (asyncio listeners, faults,
reboots, counters), ``host``/``rules``/``domain``/``fleet`` (the host model), ``ps`` (the collection's
PowerShell, interpreted), ``native`` (native programs), ``twins`` (other collections' modules).
"""
