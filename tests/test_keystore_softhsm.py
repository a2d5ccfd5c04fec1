"""Keys on a real SoftHSM2 token that the test session creates (tests/softhsm.py)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import PyKCS11
import pytest

from smseal.keystore import Keystore
from smseal.keystore.errors import AmbiguousKey, ModuleNotFound, TokenNotFound, WrongPin
from smseal.keystore.pkcs11 import TokenKey, TokenSession, list_tokens
from smseal.keystore.pkcs11_profiles import SM2_EC_PARAMS, get_profile
from smseal.keystore.pkcs11_uri import Pkcs11Uri
from shangmi import sm2
from shangmi.errors import (DecryptionError, KeyNotFound, TokenError, UnsupportedMechanism,
                            WrongPassphrase)
from tests.softhsm import PIN_TOKEN, SoftHsm, pin_callback, softhsm, softhsm_token  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]
PROFILE = get_profile("softhsm2")


@pytest.fixture
def session(softhsm_token: SoftHsm):
    with TokenSession(softhsm_token.uri(), passphrase=pin_callback()) as ts:
        yield ts


def _label(request) -> str:
    return f"t-{request.node.name}"


def test_tokens_are_listed(softhsm: SoftHsm):
    labels = {t.label for t in list_tokens(softhsm.module)}
    assert {softhsm.token, PIN_TOKEN} <= labels


def test_generate_on_token_is_sm2_and_non_extractable(session: TokenSession, request):
    public, where = session.generate(PROFILE, "enc", _label(request))
    assert where.object == _label(request) and len(where.id) == 16 and where.pin_value is None
    # the public key the token reports is what the software side sees (and is on the SM2 curve)
    assert session.public_key_of(where.object, where.id) == public
    s, priv = session.session, session.find(PyKCS11.CKO_PRIVATE_KEY, where.object, where.id)
    (params,) = s.getAttributeValue(priv, [PyKCS11.CKA_EC_PARAMS], allAsBinary=True)
    sensitive, extractable, never, always, key_type = s.getAttributeValue(priv, [
        PyKCS11.CKA_SENSITIVE, PyKCS11.CKA_EXTRACTABLE, PyKCS11.CKA_NEVER_EXTRACTABLE,
        PyKCS11.CKA_ALWAYS_SENSITIVE, PyKCS11.CKA_KEY_TYPE])
    assert bytes(params) == SM2_EC_PARAMS == bytes.fromhex("06082a811ccf5501822d")
    assert key_type == PyKCS11.CKK_EC
    assert (sensitive, extractable, never, always) == (True, False, True, True)
    # the private value cannot be read: the token answers CKR_ATTRIBUTE_SENSITIVE
    value = PyKCS11.LowLevel.ckattrlist(1)
    value[0].SetType(PyKCS11.CKA_VALUE)
    rv = s.lib.C_GetAttributeValue(s.session, priv, value)
    assert rv == PyKCS11.CKR_ATTRIBUTE_SENSITIVE
    assert s.getAttributeValue(priv, [PyKCS11.CKA_VALUE]) == [None]
    # and an encryption key may derive but not sign
    assert s.getAttributeValue(priv, [PyKCS11.CKA_SIGN, PyKCS11.CKA_DERIVE]) == [False, True]


def test_software_ciphertext_decrypts_on_token(softhsm_token: SoftHsm, session: TokenSession, request):
    public, where = session.generate(PROFILE, "enc", _label(request))
    file_key = bytes(range(32))
    ct = public.encrypt(file_key)                        # software side, GM/T 0009 DER
    with TokenKey.open(where, passphrase=pin_callback(), expected=public) as key:
        assert key.public_key() == public
        assert key.decrypt(ct) == file_key
        for n in (1, 17, 100):                           # different lengths, fresh C1 each time
            msg = bytes([n]) * n
            assert key.decrypt(public.encrypt(msg)) == msg
        bad = bytearray(ct)
        bad[-1] ^= 1                                     # C2 altered: C3 no longer matches
        with pytest.raises(DecryptionError):
            key.decrypt(bytes(bad))
        other = sm2.PrivateKey.generate().public_key().encrypt(file_key)
        with pytest.raises(DecryptionError):
            key.decrypt(other)                           # not for this key


def test_softhsm_cannot_sign_sm2(session: TokenSession, request):
    with pytest.raises(UnsupportedMechanism, match="cannot make SM2 signatures"):
        session.generate(PROFILE, "sign", _label(request))
    public, where = session.generate(PROFILE, "enc", _label(request))
    with TokenKey.open(where, passphrase=pin_callback()) as key:
        with pytest.raises(UnsupportedMechanism):
            key.sign(b"data")


def test_import_software_key_onto_token(session: TokenSession, request):
    soft = sm2.PrivateKey.generate()
    public, where = session.import_key(PROFILE, "enc", _label(request), soft)
    assert public == soft.public_key() == session.public_key_of(where.object, where.id)
    priv = session.find(PyKCS11.CKO_PRIVATE_KEY, where.object, where.id)
    assert session.session.getAttributeValue(priv, [PyKCS11.CKA_VALUE]) == [None]
    with TokenKey.open(where, passphrase=pin_callback()) as key:
        assert key.decrypt(soft.public_key().encrypt(b"imported")) == b"imported"


def test_wrong_pin(softhsm: SoftHsm):
    with pytest.raises(WrongPin) as info:
        TokenSession(softhsm.uri(PIN_TOKEN), passphrase=pin_callback("000000"))
    assert isinstance(info.value, WrongPassphrase)
    assert "000000" not in str(info.value)


def test_missing_module_and_token(softhsm: SoftHsm, tmp_path: Path):
    with pytest.raises(ModuleNotFound) as info:
        TokenSession(f"pkcs11:token=x?module-path={tmp_path}/nope.so", passphrase=pin_callback())
    assert isinstance(info.value, TokenError)
    not_a_lib = tmp_path / "not-a-lib.so"
    not_a_lib.write_bytes(b"\x7fELF garbage")
    with pytest.raises(ModuleNotFound):
        TokenSession(f"pkcs11:token=x?module-path={not_a_lib}", passphrase=pin_callback())
    with pytest.raises(TokenNotFound) as info:
        TokenSession(softhsm.uri("no-such-token"), passphrase=pin_callback())
    assert isinstance(info.value, TokenError)
    with pytest.raises(TokenNotFound, match="tokens match"):     # two tokens, none named
        TokenSession(f"pkcs11:?module-path={softhsm.module}", passphrase=pin_callback())


def test_lookup_none_or_several(session: TokenSession, request):
    label = _label(request)
    with pytest.raises(KeyNotFound):
        session.find(PyKCS11.CKO_PRIVATE_KEY, label, None)
    session.generate(PROFILE, "enc", label)
    session.generate(PROFILE, "enc", label)
    with pytest.raises(AmbiguousKey):
        TokenKey.open(Pkcs11Uri.parse(session.uri.to_string()).with_(object=label), passphrase=pin_callback())


def test_key_persists_across_processes(softhsm_token: SoftHsm, session: TokenSession, request):
    public, where = session.generate(PROFILE, "enc", _label(request))
    ct = public.encrypt(b"across processes")
    code = textwrap.dedent(f"""
        import sys
        from smseal.keystore.pkcs11 import TokenKey
        from shangmi import sm2
        with TokenKey.open(sys.argv[1], passphrase=lambda p: b"{softhsm_token.pin}") as key:
            assert key.public_key() == sm2.PublicKey.from_bytes(bytes.fromhex(sys.argv[2]))
            sys.stdout.write(key.decrypt(bytes.fromhex(sys.argv[3])).decode())
    """)
    out = subprocess.run([sys.executable, "-c", code, str(where), public.to_bytes().hex(), ct.hex()],
                         cwd=ROOT, env=softhsm_token.env(), capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "across processes"


def test_keystore_identity_with_encryption_key_on_token(softhsm_token: SoftHsm, tmp_path: Path):
    """Configuration 1: signing key in a software file, encryption key on the token."""
    with Keystore(tmp_path, passphrase=pin_callback(), kdf_iterations=1000) as ks:
        ident = ks.generate("赤峰市人民政府办公室", encryption=softhsm_token.uri())
        enc = ident.current("enc")
        assert enc.on_token and enc.profile == "softhsm2" and "pin" not in enc.ref
        assert not ident.current("sign").on_token
        signer = ks.signer("赤峰市人民政府办公室")
        signer.public_key().verify(signer.sign(b"header bytes"), b"header bytes")
        kid, dec = ks.find_decrypter([b"\0" * 16, enc.key_id])
        assert kid == enc.key_id and isinstance(dec, TokenKey)
        assert dec.decrypt(enc.public_key.encrypt(b"k" * 32)) == b"k" * 32
        # rotation on the same token; the old token key still opens old packages
        new = ks.rotate("赤峰市人民政府办公室", "enc")
        assert new.on_token and new.generation == 2
        _, old_dec = ks.find_decrypter([enc.key_id])
        assert old_dec.decrypt(enc.public_key.encrypt(b"old")) == b"old"
        with pytest.raises(UnsupportedMechanism):
            ks.export_private("赤峰市人民政府办公室", "enc")
        with pytest.raises(UnsupportedMechanism):     # signing on SoftHSM: refused before creating anything
            ks.generate("某某局", signing=softhsm_token.uri())
        assert [i.name for i in ks.list()] == ["赤峰市人民政府办公室"]


def test_keystore_wrong_pin_changes_nothing(softhsm: SoftHsm, tmp_path: Path):
    with Keystore(tmp_path, passphrase=pin_callback("999999"), kdf_iterations=1000) as ks:
        with pytest.raises(WrongPin):
            ks.generate("某某局", encryption=softhsm.uri(PIN_TOKEN))
        assert ks.list() == []


def test_package_sealed_in_software_opens_with_token_key(softhsm_token: SoftHsm, tmp_path: Path):
    """End to end: 某某局 (software keys) seals to 赤峰市… whose encryption key is on the token;
    the recipient opens it with the token key, trusting the sender through its Directory."""
    from smseal.envelope import Package, open_package, seal
    from smseal.keystore import Directory, make_card

    sender_home, recipient_home = tmp_path / "sender", tmp_path / "recipient"
    with Keystore(sender_home, passphrase=pin_callback(), kdf_iterations=1000) as sender_ks, \
            Keystore(recipient_home, passphrase=pin_callback(), kdf_iterations=1000) as recipient_ks, \
            Directory(sender_home) as sender_dir, Directory(recipient_home) as recipient_dir:
        sender_ks.generate("某某局")
        recipient_ks.generate("赤峰市人民政府办公室", encryption=softhsm_token.uri())
        # the sender's card reaches the recipient; the recipient's token key only decrypts, so it
        # cannot sign a card (no proof of possession): the sender learns it as from a certificate
        s_id, r_id = sender_ks.get("某某局"), recipient_ks.get("赤峰市人民政府办公室")
        recipient_dir.import_card(make_card("某某局", sender_ks.signer("某某局"), sender_ks.decrypter("某某局")))
        with pytest.raises(UnsupportedMechanism, match="cannot sign"):
            make_card("赤峰市人民政府办公室", recipient_ks.signer("赤峰市人民政府办公室"),
                      recipient_ks.decrypter("赤峰市人民政府办公室"))
        sender_dir.add_unit("赤峰市人民政府办公室", r_id.current("sign").public_key, r_id.current("enc").public_key)
        sealed = tmp_path / "pkg.smseal"
        seal(Package(("通知.txt", "关于开展检查的通知".encode()), title="关于开展检查的通知",
                     doc_number="赤政办发〔2007〕43号", label="内部"),
             sender=sender_ks.signer("某某局"), to=sender_dir.encryption_key("赤峰市人民政府办公室"),
             out=sealed)
        stanza_ids = [r_id.current("enc").key_id]
        _, token_key = recipient_ks.find_decrypter(stanza_ids)
        assert isinstance(token_key, TokenKey)
        result = open_package(sealed, key=token_key, trusted=recipient_dir, out_dir=tmp_path / "out")
        assert (tmp_path / "out" / "通知.txt").read_text() == "关于开展检查的通知"
        assert result.sender == "某某局" and result.recipient_key_id == stanza_ids[0]
