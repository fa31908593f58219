"""Places named in free text resolve against the records."""

from bot.domain.places import resolve, village_of
from tests.factories import make_account


def test_village_is_taken_after_the_township():
    assert village_of("城关镇东关村12号") == "东关村"
    assert village_of("银坊镇北街12号") is None
    assert village_of("") is None


def test_typed_places_resolve_to_township_village_and_area(db):
    with db.session() as s:
        make_account(s, "5100000101", address="城关镇东关村12号", township="城关镇", area_type="urban")
        make_account(s, "5100000102", address="烟煤洞乡大安村3号", township="烟煤洞乡", area_type="remote", phone=None)
        p = resolve(s, "东关村这边停电了")
        assert (p.township, p.village, p.area_type) == ("城关镇", "东关村", "urban")
        p = resolve(s, "烟煤洞乡")
        assert (p.township, p.village, p.area_type) == ("烟煤洞乡", None, "remote")
        assert not resolve(s, "北京市朝阳区").known
