"""envelope: the sealed package format v1 of smseal (see docs/FORMAT.md).

    from smseal.envelope import Package, seal, open_package, inspect, make_receipt, verify_receipt

A package is sealed for exactly one main recipient (主送) and any number of
copy recipients (抄送), signed by the sending unit, and opened only when the
signature of a trusted sender verifies over every byte.
"""

from .format import CHUNK_SIZE, URGENCIES, VERSION
from .metadata import FileEntry, Metadata
from .notice import Notice, NoticeInfo, make_notice, verify_notice
from .open import inspect, open_package, verify_package
from .package import Package
from .protocols import Decrypter, KeyList, Signer, TrustStore
from .receipt import STATUSES, Receipt, make_receipt, verify_receipt
from .results import (OpenResult, PackageInfo, ReceiptInfo, RecipientInfo, SealResult,
                      VerifyResult)
from .seal import seal
from .spool import OpenedFile, open_stream
from .workflow import DOC_TYPES, Addressee, Approval, ApprovalError, ReplyTo, verify_approval
from .types import Keys, Readable, ReceiptStatus, Role, Src, Trusted, Urgency

__all__ = ["Package", "seal", "open_package", "open_stream", "OpenedFile", "inspect", "make_receipt", "verify_receipt",
           "verify_package", "VerifyResult",
           "Receipt", "Signer", "Decrypter", "TrustStore", "KeyList", "Metadata", "FileEntry",
           "OpenResult", "SealResult", "PackageInfo", "ReceiptInfo", "RecipientInfo",
           "STATUSES", "URGENCIES", "CHUNK_SIZE", "VERSION",
           "DOC_TYPES", "Addressee", "Approval", "ApprovalError", "ReplyTo", "verify_approval",
           "Src", "Readable", "Trusted", "Keys", "Urgency", "Role", "ReceiptStatus",
           "Notice", "NoticeInfo", "make_notice", "verify_notice"]
