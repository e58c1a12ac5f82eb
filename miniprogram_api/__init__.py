"""The WeChat mini-program's JSON API and the public device pages its QR codes open."""
