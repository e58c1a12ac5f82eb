"""The official account (公众号): webhook, text commands, menus. Built in the WeChat front-door issue."""
