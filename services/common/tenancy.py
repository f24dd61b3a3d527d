"""Which records a call may read and write.

Reads see the caller's company plus public records (company ""); writes touch only the caller's company.
"""

from __future__ import annotations

from typing import Any

from regista.server.call import Call

PUBLIC = ""


def readable(call: Call) -> dict[str, Any]:
    return {"company": {"$in": [call.company, PUBLIC]}}


def writable(call: Call) -> dict[str, Any]:
    return {"company": call.company}
