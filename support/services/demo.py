"""Demo knowledge for `seed_demo`: a help-centre FAQ, a shipping & returns policy and the catalogue as searchable
knowledge, so the demo store's chat widget and inbox answer out of the box. Embeddings are computed by the usual
`support_embed` job (queued on commit), so a worker picks them up; nothing heavy runs in the seeder."""

from __future__ import annotations

import random

from ecomops.models import Store
from ecomops.services.demo_data import register_demo_seeder
from support.models import KnowledgeEntry, KnowledgeKind, PolicyPage
from support.services.knowledge import faq_entry_create, policy_page_save, products_sync

DEMO_FAQ = [
    ("How long does shipping take?",
     "Standard shipping takes 3 to 5 business days; express shipping takes 1 to 2 business days."),
    ("How much does shipping cost?", "Standard shipping is free on orders over 50; below that it costs 4.95."),
    ("How do I track my order?",
     "Use the tracking link in your shipping confirmation email, or ask us here with your order number and email."),
    ("What is your return policy?",
     "You can return unused items within 30 days of delivery for a full refund to the original payment method."),
    ("How do I cancel my order?",
     "Orders can be cancelled until they ship. Ask us with your order number and a member of our team will cancel it."),
    ("Which payment methods do you accept?", "We accept Visa, Mastercard, American Express and PayPal."),
    ("Can I change my delivery address?",
     "Yes, until the order ships. Ask us with your order number and our team will update the address."),
    ("Do you ship internationally?", "We ship to the EU, the UK and the United States."),
]

DEMO_POLICY = """# Shipping and returns

## Shipping
Orders placed before 2 pm ship the same business day. Standard delivery takes 3 to 5 business days.

## Returns
Unused items can be returned within 30 days of delivery. Refunds go to the original payment method within
5 business days of the return arriving.

## Warranty
Electronics carry a 2-year warranty against manufacturing defects.
"""


def support_demo_seed(store: Store, rng: random.Random | None = None) -> dict:
    """Idempotent: a store that already has help-centre knowledge keeps it; the catalogue is re-synced."""
    created = {"faq": 0, "policies": 0}
    if not KnowledgeEntry.objects.for_store(store).filter(kind=KnowledgeKind.FAQ).exists():
        for question, answer in DEMO_FAQ:
            faq_entry_create(store=store, title=question, text=answer)
        created["faq"] = len(DEMO_FAQ)
    if not PolicyPage.objects.for_store(store).exists():
        policy_page_save(store=store, title="Shipping and returns", body=DEMO_POLICY)
        created["policies"] = 1
    return {**created, "products": products_sync(store=store)}


register_demo_seeder(support_demo_seed, name="support.demo_knowledge")
