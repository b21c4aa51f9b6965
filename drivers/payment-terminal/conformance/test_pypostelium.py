"""pypostelium, acting as the cash register, against our simulator.

It speaks Concert V2 E+ with IND 0 and A011 ("answer at once"): the terminal answers
immediately with status 9 and the 28-byte answer without card data. pypostelium only logs the
answer, so the test records it by wrapping `parse_terminal_answer`; the simulator's own events
say whether it approved or declined.
"""
import json
import logging

from pypostelium.pypostelium import Driver


class RecordingDriver(Driver):
    answer = None

    def parse_terminal_answer(self, real_msg, data):
        self.answer = super().parse_terminal_answer(real_msg, data)
        return self.answer


def pay(sim, amount, caplog):
    caplog.set_level(logging.DEBUG, logger="pypostelium.pypostelium")
    driver = RecordingDriver({"telium_terminal_device_name": sim.path})
    started = driver.transaction_start(
        json.dumps({"amount": amount, "payment_mode": "card", "currency_iso": "EUR"})
    )
    assert started, "the simulator acknowledged the request"
    assert driver.answer is not None, "pypostelium read and parsed the simulator's answer"
    # pypostelium logs framing problems (STX/ETX position, LRC) and echo mismatches instead of
    # raising: none may appear.
    complaints = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert complaints == [], complaints
    return driver.answer


def test_approved_payment(sim, caplog):
    answer = pay(sim, 12.5, caplog)
    assert answer["pos_number"] == "01"
    assert answer["transaction_result"] == "9", "A011: answered at once"
    assert answer["amount_msg"] == "00001250"
    assert answer["currency_numeric"] == "978"
    request = sim.event("request")
    assert request["amount_cents"] == 1250
    assert sim.event("answered")["verdict"] == {"verdict": "approved", "amount_cents": 1250}


def test_declined_payment(sim, caplog):
    answer = pay(sim, 7.13, caplog)
    assert answer["amount_msg"] == "00000713"
    assert sim.event("answered")["verdict"] == {"verdict": "declined"}
