"""Insights: the analytics of ``analytics/`` fed with verified records of the asking party's data.

Demand forecasts (``forecast``), basket rules (``baskets``) and fraud labels, models and scores
(``fraud``); each adapter selects verified records and says what it used and left out.
"""
