"""Groups the bureau publishes in its signed directory bundle (issue 12): ``--cc-group`` expands
them like a unit's own groups; a newer bundle replaces them; a group naming a unit the bundle
does not certify, or altered after signing, is refused."""

from __future__ import annotations

import pytest

from shangmi import sm2
from shangmi.errors import InvalidSignature, KeyNotFound, MalformedInput, UnknownUnit
from smseal.keystore import bundle, x509
from smseal.keystore.authority import Authority
from smseal.office import groups, sending
from smseal.office.bureau import install_bundle
from smseal.office.errors import UsageError
from smseal.office.trust import Trust
from tests.workflow_helpers import pair  # noqa: F401  (fixture)

TOWNS = ("新城镇", "老城镇", "东城镇")


@pytest.fixture
def bureau(tmp_path, pair):
    key = sm2.PrivateKey.generate()
    auth = Authority.init(tmp_path / "ca", "某市保密局", signer=key)
    auth.test_key = key
    for town in TOWNS:
        auth.certify(x509.Name.build(town), [(sm2.PrivateKey.generate().public_key(), "sign"),
                                             (sm2.PrivateKey.generate().public_key(), "enc")])
    Trust(pair.a.home).pin(auth.root.to_pem(), replace=False)
    return auth


def test_cc_group_uses_a_group_the_bureau_published(pair, bureau):
    assert bureau.set_group("各乡镇", ["新城镇", "老城镇"]) == ("各乡镇", ("新城镇", "老城镇"))
    with pytest.raises(UnknownUnit):
        bureau.set_group("各街道", ["不存在街道"])
    installed = install_bundle(pair.a, bureau.publish())
    assert installed["groups"] == ["各乡镇"]
    g = groups.get_group(pair.a, "各乡镇")
    assert g.units == ("新城镇", "老城镇") and g.source == "bureau"
    main = pair.file("通知.txt", "请各乡镇报送。")
    with sending.compose(pair.a, main, to="财政局", cc_groups=["各乡镇"]) as out:
        assert out.to == "财政局" and out.cc == ["新城镇", "老城镇"]     # one 主送, the group as 抄送
        assert [a.unit for a in out.package.metadata().recipients] == ["财政局", "新城镇", "老城镇"]
    with pytest.raises(UsageError):
        groups.remove_group(pair.a, "各乡镇")       # the bureau's, not the unit's to edit
    groups.add_group(pair.a, "各乡镇", ["东城镇"])   # the unit's own group of that name comes first
    assert groups.get_group(pair.a, "各乡镇").units == ("东城镇",)
    assert {(x.name, x.source) for x in groups.list_groups(pair.a)} == {("各乡镇", "local")}
    groups.remove_group(pair.a, "各乡镇")
    assert groups.get_group(pair.a, "各乡镇").source == "bureau"
    bureau.remove_group("各乡镇")
    bureau.set_group("各镇", ["东城镇"])
    install_bundle(pair.a, bureau.publish())           # a newer bundle replaces the groups
    with pytest.raises(KeyNotFound):
        groups.get_group(pair.a, "各乡镇")
    assert groups.get_group(pair.a, "各镇").units == ("东城镇",)


def test_a_revoked_member_leaves_the_published_group(pair, bureau):
    bureau.set_group("各乡镇", ["新城镇", "老城镇"])
    bureau.revoke("老城镇", "cessationOfOperation")
    verified = bundle.verify_bundle(bureau.publish(), bureau.root)
    assert verified.groups == (("各乡镇", ("新城镇",)),)


def test_a_group_naming_a_unit_the_bundle_does_not_certify_is_refused(bureau):
    current = [r.certificate for r in bureau.certificates() if r.revoked is None]
    crl = x509.issue_crl(bureau.test_key, bureau.root, number=99, this_update=x509.utcnow(),
                         next_update=x509.utcnow() + x509.days(7), revoked=[])
    data = bundle.build_bundle(bureau.test_key, bureau.root, current, crl, version=5, issued=x509.utcnow(),
                               groups=(("各乡镇", ("新城镇", "外市某镇")),))
    with pytest.raises(MalformedInput, match="does not certify"):
        bundle.verify_bundle(data, bureau.root)


def test_groups_are_signed_with_the_bundle(pair, bureau):
    bureau.set_group("各乡镇", ["新城镇", "老城镇"])
    data = bureau.publish()
    altered = data.replace("新城镇".encode(), "东城镇".encode())
    assert altered != data
    with pytest.raises((InvalidSignature, MalformedInput)):
        bundle.verify_bundle(altered, bureau.root)
