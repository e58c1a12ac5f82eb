"""CLI commands on the app (`python -m weixiu <command>`); `db upgrade` comes from Flask-Migrate."""

from __future__ import annotations

import click
from flask import Flask, current_app

from models import db


def register_commands(app: Flask) -> None:
    @app.cli.command("load-demo")
    @click.option("--force", is_flag=True, help="Load even if the database already has institutions.")
    def load_demo(force: bool) -> None:
        """Load the demo data of the reference guides (医疗机构测试1, 服务商测试1, 张三 …)."""
        from operations import demo_data

        if not force and not demo_data.database_is_empty():
            click.echo("database already has data; nothing loaded (use --force to add the demo anyway)")
            return
        summary = demo_data.load()
        db.session.commit()
        click.echo(f"demo data loaded: {summary}")

    @app.cli.command("worker")
    @click.option("--queue", "queues", multiple=True, help="Queue names (default: all).")
    @click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
    @click.option("--simple", is_flag=True, help="Run jobs in this process instead of forking.")
    def worker(queues: tuple[str, ...], burst: bool, simple: bool) -> None:
        """Run an RQ worker with every job inside this app's context."""
        from jobs.queues import QUEUE_NAMES
        from jobs.runtime import make_worker

        make_worker(current_app._get_current_object(), queues or QUEUE_NAMES, simple=simple).work(
            burst=burst, with_scheduler=True
        )

    @app.cli.command("scheduler")
    def scheduler() -> None:
        """Run the minute scheduler (one per deployment; a second one is harmless)."""
        from jobs.scheduler import run_forever

        run_forever(current_app._get_current_object())

    @app.cli.group("menu")
    def menu() -> None:
        """The official account's custom menu (我的工单 / 我的预警 / 帮助, and the mini-program)."""

    @menu.command("show")
    def menu_show() -> None:
        """Print the menu JSON `menu set` would post."""
        import json

        from bot.menu import build_menu

        click.echo(json.dumps(build_menu(current_app.config), ensure_ascii=False, indent=2))

    @menu.command("set")
    def menu_set() -> None:
        """Post the menu to WeChat (WECHAT_API_BASE_URL) with the official account's credentials."""
        from requests import RequestException
        from wechatpy.exceptions import WeChatClientException

        from bot.menu import build_menu, set_menu
        from channels.registry import get_channel

        channel = get_channel("wechat")
        if channel.client is None:
            raise click.ClickException(f"the official account is not configured: {channel.unavailable}")
        try:
            set_menu(channel.client, build_menu(current_app.config))
        except (WeChatClientException, RequestException) as error:
            raise click.ClickException(f"WeChat refused the menu: {error}") from None
        click.echo("menu set")
