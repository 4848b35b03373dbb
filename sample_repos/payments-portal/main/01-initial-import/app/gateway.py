"""Client for the PayGate card processing API."""

import requests

from app import config


class GatewayError(Exception):
    pass


def capture(invoice, card_token):
    """Capture the full amount of an invoice with a tokenised card."""
    response = requests.post(
        f"{config.PAYMENT_GATEWAY_URL}/captures",
        json={
            "amount": invoice["amount_cents"],
            "currency": invoice["currency"],
            "source": card_token,
            "reference": f"INV-{invoice['id']}",
        },
        headers={"Authorization": f"Bearer {config.GATEWAY_API_KEY}"},
        timeout=15,
    )
    if response.status_code >= 400:
        print(f"gateway capture failed for invoice {invoice['id']}: {response.status_code} {response.text}")
        raise GatewayError(response.status_code)
    print(f"captured invoice {invoice['id']}")
    return response.json()
