"""A repository's own triage, learned from the labels its maintainers gave past issues.

    labelled issues (runner learn) ──> features: two documents per issue, TF-IDF rows
                                       classifier: a linear SVM per target (prior: the rules' kind)
                                           │ training: cross-validated against the rules
                                           ▼
                                       store: <state-dir>/models/OWNER__NAME.npz (arrays + JSON,
                                           │  never a pickle)
                                           ▼
    an issue in a run ──> settings.RunTriager ──> label on the issue? ── else ──> model, when
                                                  sure enough ── else ──> the rules (runner.core)

Only `settings` is imported by a run that has no model: scikit-learn and numpy load with the
first model a run uses.
"""

from __future__ import annotations

from runner.learn.settings import LearnSettings, RunTriager, learn_settings

__all__ = ["LearnSettings", "RunTriager", "learn_settings"]
