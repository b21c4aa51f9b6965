"""pyTeliumManager (imports as `telium`), acting as the cash register, against our simulator.

It speaks Concert V2 E+ with IND 1 (83-byte answer with card data), A010, 8N1, and reads the
answer in one 83-byte read: framing and sizes must match exactly.
"""
from telium import Telium, TeliumAsk


def pay(sim, amount):
    terminal = Telium(sim.path)
    try:
        ask = TeliumAsk.new_payment(amount, "debit", "EUR")
        assert terminal.ask(ask), "the simulator acknowledged the request"
        answer = terminal.verify(ask)
        assert answer is not None, "the simulator sent a result"
        return answer
    finally:
        terminal.close()


def test_approved_payment(sim):
    answer = pay(sim, 12.5)
    assert answer.has_succeeded, answer.json
    assert answer.transaction_result == 0
    assert answer.amount == 12.5
    assert answer.currency_numeric == "978"
    assert answer.repport.startswith("497010XXXXXX0019"), "card data comes first in the report"
    request = sim.event("request")
    assert request["amount_cents"] == 1250, request
    assert sim.event("answered")["verdict"] == {"verdict": "approved", "amount_cents": 1250}


def test_declined_payment(sim):
    # Amounts whose cents are 13 are declined by the simulator's default rule.
    answer = pay(sim, 10.13)
    assert not answer.has_succeeded, answer.json
    assert answer.transaction_result == 7
    assert answer.amount == 10.13
    assert sim.event("answered")["verdict"] == {"verdict": "declined"}


def test_two_payments_on_one_simulator(sim):
    assert pay(sim, 1.0).has_succeeded
    assert not pay(sim, 99.13).has_succeeded
