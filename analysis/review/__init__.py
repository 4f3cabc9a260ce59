"""The preliminary-review report (初审意见书): a printable page and its PDF.

:func:`~blueprint.analysis.review.document.review_html` builds the page from a vetting
report (its static map from :mod:`.static_map`, its boundary-point table from
:mod:`.points`); :func:`~blueprint.analysis.review.pdf.html_to_pdf` prints it with headless
Chromium.
"""
