"""TF-IDF + logistic regression baseline, trained and scored on exactly the transformer's splits."""

from __future__ import annotations

import time

import pyarrow as pa

from training.evaluate import encode_labels
from training.metrics import classification_report


def fit_and_evaluate(train: pa.Table, test: pa.Table, labels: list[str], seed: int = 13) -> dict:
    """Character 1-3-gram TF-IDF (works for Chinese without a word segmenter) + multinomial LR."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    t0 = time.perf_counter()
    clf = make_pipeline(
        TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), min_df=2, sublinear_tf=True, lowercase=True),
        LogisticRegression(C=4.0, max_iter=2000, random_state=seed),
    )
    clf.fit(train["text"].to_pylist(), encode_labels(train, labels))
    fit_s = time.perf_counter() - t0
    probs = clf.predict_proba(test["text"].to_pylist())
    # predict_proba has one column per class seen in training; map back onto the full label set.
    import numpy as np

    full = np.zeros((test.num_rows, len(labels)))
    full[:, clf.classes_] = probs
    report = classification_report(encode_labels(test, labels), full, labels,
                                   slices={c: test[c].to_pylist() for c in ("lang", "platform")})
    return {"name": "tfidf_char1-3_logreg", "fit_seconds": fit_s, **report}
