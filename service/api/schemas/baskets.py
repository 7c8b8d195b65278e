"""Basket rules and frequent itemsets (see docs/baskets.md)."""

from pydantic import BaseModel, Field

from analytics.baskets import Itemset, Rule
from service.api.schemas.common import DataScopePublic, ExcludedPublic, PageBase
from service.insights.baskets import BasketSummary, Level


class BasketPageBase(PageBase):
    """What every basket result reports besides the page of results."""

    data_scope: DataScopePublic
    level: Level
    data_version: str = Field(description="Fingerprint of the verified records used; changes when they change.")
    baskets_used: int = Field(description="Baskets mined: the `n` of every support.")
    baskets_excluded: ExcludedPublic = Field(description="Orders and sales that did not verify.")
    lines_without_category: int | None = Field(description="Category level: lines of verified baskets without a category.")
    baskets_without_category: int | None = Field(description="Category level: verified baskets left out, no line having a category.")
    count: int = Field(description="Number of matching results, over all pages.")

    @staticmethod
    def summary_fields(summary: BasketSummary) -> dict[str, object]:
        """The fields of a basket summary, as keyword arguments of a page."""
        return {name: getattr(summary, name) for name in BasketSummary.__dataclass_fields__}


class RulePublic(BaseModel):
    antecedent: list[str]
    consequent: list[str]
    count: int
    antecedent_count: int
    consequent_count: int
    support: float
    confidence: float
    lift: float
    leverage: float
    conviction: float | None = Field(description="null means infinite (confidence 1).")

    @classmethod
    def of(cls, rule: Rule) -> "RulePublic":
        fields = {name: getattr(rule, name) for name in Rule.__slots__}
        return cls(**fields | {"conviction": None if rule.conviction == float("inf") else rule.conviction})


class ItemsetPublic(BaseModel):
    items: list[str]
    count: int
    support: float

    @classmethod
    def of(cls, itemset: Itemset) -> "ItemsetPublic":
        return cls(items=list(itemset.items), count=itemset.count, support=itemset.support)


class RulePage(BasketPageBase):
    rules: list[RulePublic]


class ItemsetPage(BasketPageBase):
    itemsets: list[ItemsetPublic]
