"""A stand-in for the few CheckList 0.0.11 classes that ``run_checklist`` touches, so that
the main suite tests the CheckList path without the package (it is never a dependency).

It follows CheckList's own code for what the kit uses: ``AbstractTest``
(``example_list_and_indices``, ``run_from_preds_confs``, ``fail_idxs``,
``filtered_idxs``, ``get_stats``, ``run``), ``MFT``/``INV``/``DIR``, ``TestSuite.tests``,
``Expect`` (``single``, ``pairwise``, ``eq``, ``inv``, aggregation) and
``PredictorWrapper.wrap_predict``. tests/checklist_interop/test_checklist_interop.py
checks that it counts as the real package does on the shared scenarios.

:func:`install` puts it in ``sys.modules`` under CheckList's module names.
"""

from __future__ import annotations

import itertools
import sys
import types
from collections import OrderedDict
from typing import Any

import numpy as np

LISTS = (list, np.ndarray)


def iter_with_optional(data, preds, confs, labels, meta):
    if type(data) not in LISTS:  # one example
        return [(data, preds, confs, labels, meta)]
    meta = itertools.repeat(meta) if type(meta) not in LISTS else meta
    labels = itertools.repeat(labels) if type(labels) not in LISTS else labels
    return zip(data, preds, confs, labels, meta, strict=False)


class Expect:
    @staticmethod
    def testcase(fn):
        def expect(self):
            zipped = iter_with_optional(
                self.data, self.results.preds, self.results.confs, self.labels, self.meta
            )
            return [fn(x, p, c, label, m) for x, p, c, label, m in zipped]

        return expect

    @staticmethod
    def single(fn):
        def expect_fn(xs, preds, confs, label=None, meta=None):
            rows = iter_with_optional(xs, preds, confs, label, meta)
            return np.array([fn(x, p, c, lab, m) for x, p, c, lab, m in rows])

        return Expect.testcase(expect_fn)

    @staticmethod
    def pairwise(fn):
        def expect_fn(xs, preds, confs, labels=None, meta=None):
            rows = iter_with_optional(xs, preds, confs, labels, meta)
            return np.array([fn(preds[0], p, confs[0], c, lab, m) for _, p, c, lab, m in rows])

        return Expect.testcase(expect_fn)

    @staticmethod
    def aggregate(data, agg_fn="all"):
        return np.array([Expect.aggregate_testcase(x, agg_fn) for x in data])

    @staticmethod
    def aggregate_testcase(expect_results, agg_fn="all"):
        if agg_fn == "all":
            agg_fn = Expect.all()
        if agg_fn == "all_except_first":
            agg_fn = Expect.all(ignore_first=True)
        if expect_results is None:
            return None
        r = [x for x in expect_results if x is not None]
        return agg_fn(np.array(r)) if r else None

    @staticmethod
    def all(ignore_first=False):
        def tmp_fn(results):
            return np.all((results[1:] if ignore_first else results) > 0)

        return tmp_fn

    @staticmethod
    def eq(val=None):
        def ret_fn(x, pred, conf, label=None, meta=None):
            gt = val if val is not None else label
            conf = conf[gt] if type(conf) is np.ndarray else -conf
            return True if pred == gt else -(1 - conf)

        return Expect.single(ret_fn)

    @staticmethod
    def inv(tolerance=0):
        def expect(orig_pred, pred, orig_conf, conf, labels=None, meta=None):
            try:
                if pred == orig_pred:
                    return True
            except ValueError:  # array predictions
                if (pred == orig_pred).all():
                    return True
            if type(orig_conf) is np.ndarray:
                diff = np.abs(conf[orig_pred] - orig_conf[orig_pred])
                return True if diff <= tolerance else -diff
            return True if conf + orig_conf <= tolerance else -(conf + orig_conf)

        return Expect.pairwise(expect)


class Results(types.SimpleNamespace):
    pass


class AbstractTest:
    def __init__(self, data, expect, labels=None, meta=None, agg_fn="all", name=None, **_: Any):
        self.data, self.expect, self.labels, self.meta = data, expect, labels, meta
        self.agg_fn, self.name, self.run_idxs = agg_fn, name, None

    def example_list_and_indices(self, n=None, seed=None):
        idxs = list(range(len(self.data)))
        if type(self.data[0]) in LISTS:
            pairs = [(i, y) for i in idxs for y in self.data[i]]
            result_indexes, examples = map(list, list(zip(*pairs, strict=True)))
        else:
            examples, result_indexes = [self.data[i] for i in idxs], idxs
        self.result_indexes = result_indexes
        return examples, result_indexes

    def update_results_from_preds(self, preds, confs):
        if type(self.data[0]) is list:
            self.results.preds = [[] for _ in self.data]
            self.results.confs = [[] for _ in self.data]
            for i, p, c in zip(self.result_indexes, preds, confs, strict=False):
                self.results.preds[i].append(p)
                self.results.confs[i].append(c)
            self.results.preds = [np.array(p) for p in self.results.preds]
            self.results.confs = [np.array(c) for c in self.results.confs]
        else:
            self.results.preds = [None for _ in self.data]
            self.results.confs = [None for _ in self.data]
            for i, p, c in zip(self.result_indexes, preds, confs, strict=False):
                self.results.preds[i], self.results.confs[i] = p, c

    def run_from_preds_confs(self, preds, confs, overwrite=False):
        self.results = Results()
        self.update_results_from_preds(preds, confs)
        self.results.expect_results = self.expect(self)
        self.results.passed = Expect.aggregate(self.results.expect_results, self.agg_fn)

    def run(self, predict_and_confidence_fn, overwrite=False, verbose=True, n=None, seed=None):
        examples, _ = self.example_list_and_indices(n, seed=seed)
        preds, confs = predict_and_confidence_fn(examples)
        self.run_from_preds_confs(preds, confs, overwrite=overwrite)

    def fail_idxs(self):
        return np.where(self.results.passed == False)[0]  # noqa: E712 (CheckList's test)

    def filtered_idxs(self):
        return np.where(self.results.passed == None)[0]  # noqa: E711 (CheckList's test)

    def get_stats(self):
        n = len(self.data)
        fails, filtered = len(self.fail_idxs()), len(self.filtered_idxs())
        stats: dict[str, Any] = {"testcases": n}
        if filtered:
            stats["after_filtering"] = n - filtered
        if n - filtered:
            stats["fails"] = fails
        return stats


class MFT(AbstractTest):
    def __init__(self, data, expect=None, labels=None, meta=None, agg_fn="all", **kw: Any):
        if labels is None and expect is None:
            raise Exception("Must specify either 'expect' or 'labels'")
        expect = Expect.eq() if expect is None else expect
        super().__init__(data, expect, labels=labels, meta=meta, agg_fn=agg_fn, **kw)


class INV(AbstractTest):
    def __init__(self, data, expect=None, threshold=0.1, agg_fn="all_except_first", **kw: Any):
        expect = Expect.inv(threshold) if expect is None else expect
        super().__init__(data, expect, agg_fn=agg_fn, **kw)


class DIR(AbstractTest):
    def __init__(self, data, expect, agg_fn="all_except_first", **kw: Any):
        super().__init__(data, expect, agg_fn=agg_fn, **kw)


class TestSuite:
    __test__ = False  # not a pytest class

    def __init__(self) -> None:
        self.tests: OrderedDict[str, AbstractTest] = OrderedDict()

    def add(self, test, name=None, **_: Any) -> None:
        self.tests[name or test.name] = test


class PredictorWrapper:
    @staticmethod
    def wrap_predict(predict_fn):
        def pred_and_conf(inputs):
            preds = predict_fn(inputs)
            return preds, np.ones(len(preds))

        return pred_and_conf


def install(monkeypatch: Any) -> None:
    """Register the stand-in as ``checklist`` and its submodules (undone by monkeypatch)."""
    names = {
        "checklist": {},
        "checklist.abstract_test": {"AbstractTest": AbstractTest},
        "checklist.test_suite": {"TestSuite": TestSuite},
        "checklist.test_types": {"MFT": MFT, "INV": INV, "DIR": DIR},
        "checklist.expect": {"Expect": Expect},
        "checklist.pred_wrapper": {"PredictorWrapper": PredictorWrapper},
    }
    for name, attrs in names.items():
        module = types.ModuleType(name)
        module.__dict__.update(attrs)
        monkeypatch.setitem(sys.modules, name, module)
    assert "checklist" in sys.modules
