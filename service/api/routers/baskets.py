"""Basket rules for retailers: frequent itemsets and association rules of verified orders and sales.

See docs/baskets.md, "Through the service", for what a basket is, the category level and the counts.
"""

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from analytics.baskets import Itemset, Rule
from service.api.deps import ChainDep, RuntimeDep, RetailAnalyst, SessionDep, ViewerDep
from service.api.errors import error_responses
from service.api.paging import PageDep, caller_scope
from service.api.schemas import DataScope, PageOut
from service.insights.baskets import Consequent, Level, Mined, basket_itemsets, basket_rules
from service.models import ApiKey
from service.read.pagination import Page, PageRequest, paginate_list

router = APIRouter(prefix="/analytics/baskets", tags=["analytics"], responses=error_responses(401, 403, 422, 502, 503))

LevelParam = Annotated[Level, Query(description="Items are SKUs, or the `category` of each line.")]
MinSupport = Annotated[
    float, Query(gt=0, le=1, allow_inf_nan=False, description="Fraction of the baskets used that must hold an itemset.")
]
MaxLen = Annotated[int | None, Query(ge=2, le=2**31, description="Largest itemset size (none: no cap).")]
SkuFilter = Annotated[
    str | None,
    Query(min_length=1, max_length=512, description="Only results naming this item (a category at category level)."),
]


class BasketsExcluded(BaseModel):
    total: int
    by_status: dict[str, int] = Field(description="Verification status -> number of orders and sales left out.")


class BasketPage(PageOut):
    """What every basket result reports besides the page of results."""

    data_scope: DataScope
    level: Level
    data_version: str = Field(description="Fingerprint of the verified records used; changes when they change.")
    baskets_used: int = Field(description="Baskets mined: the `n` of every support.")
    baskets_excluded: BasketsExcluded = Field(description="Orders and sales that did not verify.")
    lines_without_category: int | None = Field(description="Category level: lines of verified baskets without a category.")
    baskets_without_category: int | None = Field(description="Category level: verified baskets left out, no line having a category.")
    count: int = Field(description="Number of matching results, over all pages.")


class RuleOut(BaseModel):
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
    def of(cls, rule: Rule) -> "RuleOut":
        fields = {name: getattr(rule, name) for name in Rule.__slots__}
        return cls(**fields | {"conviction": None if rule.conviction == float("inf") else rule.conviction})


class ItemsetOut(BaseModel):
    items: list[str]
    count: int
    support: float

    @classmethod
    def of(cls, itemset: Itemset) -> "ItemsetOut":
        return cls(items=list(itemset.items), count=itemset.count, support=itemset.support)


class RulePage(BasketPage):
    rules: list[RuleOut]


class ItemsetPage(BasketPage):
    itemsets: list[ItemsetOut]


def _page(mined: Mined, *, caller: ApiKey, page: PageRequest, listing: str, **parameters: object) -> tuple[dict, Page]:
    """The summary fields and one page of ``mined``; its tokens are bound to the parameters and the
    data version, so that a token stops working (422) once the verified data change."""
    scope = caller_scope(listing, caller, data_version=mined.selection.fingerprint, **parameters)
    result = paginate_list(mined.results, page=page, scope=scope)
    return mined.summary() | {"count": len(mined.results), "nextPageToken": result.next_page_token}, result


@router.get("/rules", response_model=RulePage)
def rules(
    caller: RetailAnalyst,
    viewer: ViewerDep,
    session: SessionDep,
    chain: ChainDep,
    ledger: RuntimeDep,
    *,
    level: LevelParam = "sku",
    min_support: MinSupport = 0.01,
    min_confidence: Annotated[float, Query(gt=0, le=1, allow_inf_nan=False)] = 0.5,
    min_lift: Annotated[float, Query(ge=0, allow_inf_nan=False, description="1 keeps rules no worse than chance.")] = 0.0,
    max_len: MaxLen = None,
    consequent: Annotated[Consequent, Query(description="One item, or any non-empty proper subset.")] = "single",
    sku: SkuFilter = None,
    page: PageDep,
) -> RulePage:
    """Association rules of the verified orders and sales you recorded or that were shared with you
    (every party's for auditors and admins), by lift, confidence, count (descending).

    Paged with `perPage` and `nextPageToken`; a token stops working (422) when the verified data change.
    """
    parameters = {"level": level, "min_support": min_support, "min_confidence": min_confidence, "min_lift": min_lift,
                  "max_len": max_len, "consequent": consequent, "sku": sku}
    mined = basket_rules(
        session, chain, viewer=viewer, level=level, min_support=min_support, max_len=max_len, min_confidence=min_confidence,
        min_lift=min_lift, consequent=consequent, item=sku, cache=ledger.mining, derivations=ledger.derivations,
    )
    fields, result = _page(mined, caller=caller, page=page, listing="basket rules", **parameters)
    return RulePage(**fields, rules=[RuleOut.of(rule) for rule in result.items])


@router.get("/itemsets", response_model=ItemsetPage)
def itemsets(
    caller: RetailAnalyst,
    viewer: ViewerDep,
    session: SessionDep,
    chain: ChainDep,
    ledger: RuntimeDep,
    *,
    level: LevelParam = "sku",
    min_support: MinSupport = 0.01,
    max_len: Annotated[int | None, Query(ge=1, le=2**31, description="Largest itemset size (none: no cap).")] = None,
    sku: SkuFilter = None,
    page: PageDep,
) -> ItemsetPage:
    """Frequent itemsets of the verified orders and sales you recorded or that were shared with you
    (every party's for auditors and admins), by size, then items.

    Paged with `perPage` and `nextPageToken`; a token stops working (422) when the verified data change.
    """
    mined = basket_itemsets(session, chain, viewer=viewer, level=level, min_support=min_support, max_len=max_len, item=sku,
                            cache=ledger.mining, derivations=ledger.derivations)
    parameters = {"level": level, "min_support": min_support, "max_len": max_len, "sku": sku}
    fields, result = _page(mined, caller=caller, page=page, listing="basket itemsets", **parameters)
    return ItemsetPage(**fields, itemsets=[ItemsetOut.of(itemset) for itemset in result.items])
