"""python-escpos (PyPI) prints to and queries `posdev sim printer` over TCP 9100."""
from escpos.printer import Network


def printer(sim):
    return Network(sim.host, port=sim.port, timeout=5)


def test_receipt_text_barcode_and_qr_codes(sim):
    p = printer(sim)
    p.set(align="center", bold=True, double_height=True, double_width=True)
    p.text("Café crème\n")
    p.set(normal_textsize=True)
    p.text("Total 12,50 €\n")
    p.text("Œuf, l’été – promo…\n")
    p.barcode("4006381333931", "EAN13", function_type="A")
    p.qr("https://example.invalid/native", native=True, size=6)
    p.qr("https://example.invalid/image", native=False, size=6)
    p.cut()
    p.close()
    text = sim.receipt(1)
    lines = text.splitlines()
    assert lines[:3] == ["Café crème", "Total 12,50 €", "Œuf, l’été – promo…"], text
    assert "[EAN-13 4006381333931]" in lines, text
    assert "[QR https://example.invalid/native]" in lines, text
    assert any(line.startswith("[image ") for line in lines), "the image QR code is a raster image"
    png = (sim.out_dir / "receipt-000001.png").read_bytes()
    assert png.startswith(b"\x89PNG"), "the receipt is also rendered as a PNG"


def test_status_queries(sim):
    p = printer(sim)
    assert p.is_online(), "DLE EOT 1 answers online"
    assert p.paper_status() == 2, "DLE EOT 4: paper adequate"
    (sim.out_dir / "paper-near-end").touch()
    assert p.paper_status() == 1, "DLE EOT 4: paper near end"
    (sim.out_dir / "paper-out").touch()
    assert p.paper_status() == 0, "DLE EOT 4: no paper"
    p.close()
