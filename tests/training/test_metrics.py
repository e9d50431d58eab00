import numpy as np
import pytest
from sklearn.metrics import f1_score

from training.metrics import classification_report, confusion, expected_calibration_error

LABELS = ["negative", "neutral", "positive"]


def onehot(pred, k=3, conf=1.0):
    p = np.full((len(pred), k), (1 - conf) / (k - 1))
    p[np.arange(len(pred)), pred] = conf
    return p


def test_perfect_predictions():
    y = np.array([0, 1, 2, 2, 1])
    r = classification_report(y, onehot(y), LABELS)
    assert r["accuracy"] == 1.0 and r["macro_f1"] == 1.0 and r["ece"] == 0.0
    assert r["confusion_matrix"]["rows_true_cols_pred"] == [[1, 0, 0], [0, 2, 0], [0, 0, 2]]


def test_known_confusion_and_per_class():
    y_true = np.array([0, 0, 0, 0, 1, 1, 2, 2])
    y_pred = np.array([0, 0, 1, 2, 1, 1, 2, 0])
    cm = confusion(y_true, y_pred, 3)
    assert cm.tolist() == [[2, 1, 1], [0, 2, 0], [1, 0, 1]]
    r = classification_report(y_true, onehot(y_pred), LABELS)
    assert r["per_class"]["negative"] == pytest.approx({"precision": 2 / 3, "recall": 0.5, "f1": 4 / 7, "support": 4})
    assert r["accuracy"] == pytest.approx(5 / 8)


def test_macro_f1_matches_sklearn_on_random_data():
    rng = np.random.default_rng(0)
    y_true, y_pred = rng.integers(0, 3, 500), rng.integers(0, 3, 500)
    r = classification_report(y_true, onehot(y_pred), LABELS)
    assert r["macro_f1"] == pytest.approx(f1_score(y_true, y_pred, average="macro"))


def test_macro_f1_ignores_classes_absent_from_truth():
    y = np.array([0, 2, 2])  # a binary test set scored with a 3-label map
    assert classification_report(y, onehot(y), LABELS)["macro_f1"] == 1.0


@pytest.mark.parametrize("conf,acc,expected", [(0.8, 0.8, 0.0), (1.0, 0.5, 0.5), (0.9, 0.6, 0.3)])
def test_ece_known_values(conf, acc, expected):
    n = 1000
    y_true = np.zeros(n, dtype=int)
    pred = np.where(np.arange(n) < acc * n, 0, 1)
    assert expected_calibration_error(onehot(pred, conf=conf), y_true) == pytest.approx(expected, abs=1e-9)


def test_slices():
    y = np.array([0, 1, 2, 0])
    pred = np.array([0, 1, 0, 1])
    r = classification_report(y, onehot(pred), LABELS, slices={"lang": ["zh", "zh", "en", "en"]})
    assert r["slices"]["lang"]["zh"] == {"n": 2, "accuracy": 1.0, "macro_f1": 1.0}
    assert r["slices"]["lang"]["en"]["accuracy"] == 0.0
