"""Analytics over verified records: demand forecasts, fraud scores, basket rules.

This package never imports ``service``: it works on plain data frames and lists, so the
models can be used, tested and benchmarked without a database, a chain or HTTP.
"""
