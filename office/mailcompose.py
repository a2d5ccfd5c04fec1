"""The e-mails smseal sends: a Date, From with the unit's name (RFC 2047) and address, a body in
Chinese and English that gives the urgency and what to do, and the sealed bytes as attachments
(or, with ``--armor``, as an armored text part in 7 bit — never base64 of base64).

Size: base64 turns 3 bytes into 4 characters and breaks lines at 76 characters, so an
attachment of n bytes takes about n × 4/3 × 78/76 ≈ 1.37 n bytes of mail.  A package larger
than what the server announces (ESMTP SIZE) is sent as numbered parts
``<id>.<digest>.smx.partN-of-M``, each mail within the limit; ``fetch`` reassembles them and verifies
the whole.
"""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid

from .inbox import URGENCY_LABEL

BASE64_GROWTH = 4 / 3 * 78 / 76         # ≈ 1.368: base64 plus a CRLF every 76 characters
MAIL_OVERHEAD = 16 * 1024                # headers, the two-language text and MIME boundaries, with margin
MIN_PART = 64 * 1024
_EN_URGENCY = {"urgent": "urgent (加急)", "extra-urgent": "extra urgent (特急)"}


def subject_tag(urgency: str) -> str:
    label = URGENCY_LABEL.get(urgency, "")
    return f"【{label}】" if label else ""


def compose(*, sender_unit: str, sender_address: str, to_unit: str, to_address: str, subject: str,
            text: str, attachments: list[tuple[str, bytes]] = (), armored: bytes | None = None,  # type: ignore[assignment]
            urgency: str = "normal", package_id: str | None = None) -> EmailMessage:
    """One message from this unit to another, as smseal sends it."""
    msg = EmailMessage()
    msg["From"] = formataddr((sender_unit, sender_address))       # the name is RFC 2047 encoded
    msg["To"] = formataddr((to_unit, to_address))
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = make_msgid(domain=sender_address.rpartition("@")[2] or None)
    msg["X-Smseal"] = "1"
    if package_id:
        msg["X-Smseal-Package"] = package_id
    if urgency in ("urgent", "extra-urgent"):
        msg["Importance"] = "high"
        msg["X-Priority"] = "1 (Highest)" if urgency == "extra-urgent" else "2 (High)"
    msg.set_content(text)
    if armored is not None:
        msg.add_attachment(armored.decode("ascii"), subtype="plain", cte="7bit", disposition="inline")
    for name, data in attachments:
        msg.add_attachment(data, maintype="application", subtype="octet-stream", filename=name)
    return msg


def package_text(*, sender_unit: str, package_id: str, urgency: str, part: tuple[int, int] | None = None,
                 armored: bool = False) -> str:
    """The two-language body of a package mail."""
    zh_urg = URGENCY_LABEL.get(urgency) or "普通"
    en_urg = _EN_URGENCY.get(urgency, "normal")
    zh_part = f"（第 {part[0]} 部分，共 {part[1]} 部分；收齐后自动合并核验）" if part else ""
    en_part = f" (part {part[0]} of {part[1]}; fetch joins and verifies them once all have arrived)" if part else ""
    zh_armor = "文件包以文本形式附在下方。\n" if armored else ""
    en_armor = "The package is in the text below.\n" if armored else ""
    return (f"{sender_unit} 发来一份加密公文文件包{zh_part}。\n"
            f"紧急程度：{zh_urg}\n文件包编号：{package_id}\n{zh_armor}"
            "请用 smseal 收取并打开：smseal fetch，然后 smseal open --next\n"
            "标题和正文已加密，只有收文单位用自己的密钥才能打开（密件不许代领）。\n\n"
            f"{sender_unit} sent you a sealed document package{en_part}.\n"
            f"Urgency: {en_urg}\nPackage id: {package_id}\n{en_armor}"
            "Fetch and open it with smseal: smseal fetch, then smseal open --next\n"
            "The title and contents are encrypted; only the addressed unit can open them, with its own key.\n")


def receipt_text(*, sender_unit: str, package_id: str, rejected: str | None = None) -> str:
    if rejected is not None:
        return (f"{sender_unit} 拒收文件包 {package_id}。\n拒收理由：{rejected}\n"
                "签名的拒收回执和理由附后；smseal fetch 会自动核验并记录。\n\n"
                f"{sender_unit} refused (拒收) package {package_id}.\nReason: {rejected}\n"
                "The signed receipt and reason are attached; smseal fetch verifies and records them.\n")
    return (f"{sender_unit} 已签收文件包 {package_id}。签名的签收回执附后；smseal fetch 会自动核验并记录。\n\n"
            f"{sender_unit} signed for package {package_id}. The signed receipt is attached; "
            "smseal fetch verifies and records it.\n")


def reminder_text(*, sender_unit: str, package_id: str, urgency: str, sequence: int) -> str:
    zh_urg = URGENCY_LABEL.get(urgency) or "普通"
    en_urg = _EN_URGENCY.get(urgency, "normal")
    return (f"催领（第 {sequence} 次）：{sender_unit} 发来的{zh_urg}文件包 {package_id} 尚未签收，请立即收取。\n"
            "请运行 smseal fetch，然后 smseal open --next。签名的催领通知附后。\n\n"
            f"Reminder {sequence}: the {en_urg} package {package_id} from {sender_unit} has not been signed for. "
            "Please collect it now: smseal fetch, then smseal open --next. The signed reminder is attached.\n")


def part_size_for(limit: int) -> int:
    """Bytes of package per mail so that each encoded mail stays within ``limit`` bytes."""
    return max(MIN_PART, int((limit - MAIL_OVERHEAD) / BASE64_GROWTH) // 3 * 3)


def split(data: bytes, part_size: int) -> list[bytes]:
    return [data[i:i + part_size] for i in range(0, len(data), part_size)] or [b""]


def part_name(package_id: str, n: int, total: int, digest: bytes) -> str:
    """``<id>.<package digest>.smx.partN-of-M`` (docs/FORMAT.md §15)."""
    return f"{package_id}.{digest.hex()}.smx.part{n}-of-{total}"
