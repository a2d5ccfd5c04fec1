"""The names used in envelope's signatures, exported so callers can annotate their own code.

    from smseal.envelope import Src, Readable, Trusted, Keys, Urgency, Role, ReceiptStatus
"""

from __future__ import annotations

from typing import Literal

from .open import Keys
from .protocols import Trusted
from .source import Readable, Src

#: 紧急程度: ``normal`` (普通), ``urgent`` (加急), ``extra-urgent`` (特急); visible without decrypting.
Urgency = Literal["normal", "urgent", "extra-urgent"]
#: A recipient's role: ``to`` (主送, exactly one) or ``cc`` (抄送).
Role = Literal["to", "cc"]
#: What a receipt says: ``received`` (已签收) or ``rejected`` (拒收).
ReceiptStatus = Literal["received", "rejected"]

__all__ = ["Src", "Readable", "Trusted", "Keys", "Urgency", "Role", "ReceiptStatus"]
