"""A multi-domain rule read back: the names as recorded when the cloud holds the same ones in
another order, the cloud's when they differ (drift), and its exclusive keys (one per domain on
its listener, for ordering rules that give up and take domains in one apply)."""

from __future__ import annotations

from mtlsform.resources.rule import RULE, in_recorded_order

RECORDED = {"domain": "www.example.com", "domains": ["www.example.com", "example.com"]}


def test_the_same_names_in_another_order_read_as_recorded():
    cloud = {"domain": "example.com", "domains": ["example.com", "WWW.example.com"], "id": "l"}
    assert in_recorded_order(cloud, RECORDED) == {**cloud, **RECORDED}


def test_other_names_are_drift_and_read_as_the_cloud_has_them():
    cloud = {"domain": "www.example.com", "domains": ["www.example.com", "shop.example.com"]}
    assert in_recorded_order(cloud, RECORDED) == cloud
    single = {"domain": "www.example.com"}
    assert in_recorded_order(single, RECORDED) == single
    assert in_recorded_order(RECORDED, {"domain": "www.example.com"}) == RECORDED


def test_exclusive_keys_are_each_domain_on_its_listener():
    keys = RULE.exclusive_keys({**RECORDED, "listener_id": "lbl-1", "url": "/api"})
    assert keys == {("domain", "lbl-1", "www.example.com"), ("domain", "lbl-1", "example.com")}
    assert RULE.exclusive_keys({"domain": "~^A$", "listener_id": "lbl-1", "url": "/"}) == {
        ("domain", "lbl-1", "~^A$")}  # a regex keeps its case
