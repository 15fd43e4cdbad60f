"""The seed page's three snippets, as the page printed them, ready to run.

The page (a Q&A about ``torch.lt``, ``torch.abs`` and ``torch.exp``) lost its line
breaks when it was scraped; these are its code blocks with the breaks put back and
nothing else changed, Chinese comments included. The abs answer gave its claimed output
in a block of its own under the code (``tensor([-1, 0, 1])``); here it is the trailing
comment of the ``print`` line it describes, so gradtui checks it like the others.
Torch-free: the app lists these before torch has loaded.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SEED_SNIPPETS", "SeedSnippet", "seed_snippet"]


@dataclass(frozen=True)
class SeedSnippet:
    """One snippet of the seed page.

    Attributes:
        name: Its short name (``"lt"``), as ``gradtui snippet --seed NAME`` and the
            picker name it.
        title: The page's question it answers.
        text: The code.
    """

    name: str
    title: str
    text: str


SEED_SNIPPETS: tuple[SeedSnippet, ...] = (
    SeedSnippet(
        "lt",
        "torch.lt的梯度 (the gradient of torch.lt)",
        """import torch
# 创建两个张量
x = torch.tensor([1, 2, 3])
y = torch.tensor([2, 2, 2])
# 比较两个张量
z = torch.lt(x, y)
print(z)            # tensor([True, False, False])
# 计算z相对于x的梯度
z.sum().backward()
print(x.grad)       # tensor([1, 0, 0])
""",
    ),
    SeedSnippet(
        "abs",
        "torch.abs的梯度 (the gradient of torch.abs)",
        """import torch
x = torch.tensor([-1, 0, 1], requires_grad=True)
y = torch.abs(x)
grad_y = torch.autograd.grad(y.sum(), x)[0]
print(grad_y)  # tensor([-1, 0, 1])
""",
    ),
    SeedSnippet(
        "exp",
        "torch.exp的梯度 (the gradient of torch.exp)",
        """import torch
x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
y = torch.exp(x)
print(y)  # tensor([ 2.7183, 7.3891, 20.0855], grad_fn=<ExpBackward>)
y.sum().backward()
print(x.grad)  # tensor([ 2.7183, 7.3891, 20.0855])
""",
    ),
)
"""The page's snippets, in the page's order."""


def seed_snippet(name: str) -> SeedSnippet | None:
    """The seed snippet called ``name`` (``"lt"``, ``"abs"``, ``"exp"``), or ``None``."""
    for snippet in SEED_SNIPPETS:
        if snippet.name == name:
            return snippet
    return None
