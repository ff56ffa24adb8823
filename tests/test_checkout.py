"""The git state recorded in generated documents (bayes_koryo.checkout)."""

import re

from bayes_koryo import checkout


def test_commit_and_dirty_in_the_checkout():
    """The tests run from a clone: the commit is hexadecimal, the full one extends the short."""
    short, full = checkout.commit(), checkout.commit(short=False)
    assert re.fullmatch(r"[0-9a-f]{7,}", short)
    assert re.fullmatch(r"[0-9a-f]{40}", full) and full.startswith(short)
    assert checkout.dirty() in (True, False)


def test_no_checkout_gives_none(monkeypatch, tmp_path):
    """Outside a repository (e.g. installed from a wheel) both answers are None, not an error."""
    monkeypatch.setattr(checkout, "ROOT", tmp_path)
    assert checkout.commit() is None
    assert checkout.dirty() is None


def test_provenance_names_version_commit_and_utc_minute():
    from bayes_koryo.version import __version__

    fields = checkout.provenance()
    assert fields["package_version"] == __version__
    assert fields["commit"] == checkout.commit()
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", fields["date"])
