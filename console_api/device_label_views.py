"""二维码打印: device QR codes (PNG, SVG) and the printable label sheet."""
