"""TF-IDF + logistic regression baseline, trained and scored on exactly the transformer's splits."""

from __future__ import annotations

import time

import pyarrow as pa

from training import evaluate
from training.evaluate import encode_labels, report


def fit(train: pa.Table, labels: list[str], seed: int = 13):
    """Character 1-3-gram TF-IDF (works for Chinese without a word segmenter) + multinomial LR, balanced like the
    transformer; returns a ``texts -> probabilities`` scorer over the full label set."""
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    clf = make_pipeline(
        TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), min_df=2, sublinear_tf=True, lowercase=True),
        LogisticRegression(C=4.0, max_iter=2000, random_state=seed, class_weight="balanced"),
    )
    clf.fit(train["text"].to_pylist(), encode_labels(train, labels))

    def score(texts: list[str]) -> np.ndarray:
        # predict_proba has one column per class seen in training; map back onto the full label set.
        full = np.zeros((len(texts), len(labels)))
        full[:, clf.classes_] = clf.predict_proba(texts)
        return full

    return score


def fit_and_evaluate(train: pa.Table, test: pa.Table, labels: list[str], seed: int = 13,
                     reserved_sets: dict | None = None) -> dict:
    """The baseline fitted on ``train``, reported on ``test`` and on the reserved public sets."""
    t0 = time.perf_counter()
    score = fit(train, labels, seed)
    fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    probs = score(test["text"].to_pylist())
    speed = test.num_rows / (time.perf_counter() - t0)
    return {"name": "tfidf_char1-3_logreg", "fit_seconds": fit_s, **report(probs, test, labels), "texts_per_s": speed,
            "reserved": evaluate.reserved(score, reserved_sets or {}, labels)}
