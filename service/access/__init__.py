"""Access: who is asking, and which records they may see.

API keys (``keys``), the visibility rule every read and analytic applies (``viewer``), and the
grants by which a party shares its records (``grants``).
"""
