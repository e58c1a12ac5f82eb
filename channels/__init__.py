"""Outbound channels (inbox, SMS, WeChat) behind one small interface; see `channels.base`."""
