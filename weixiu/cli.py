"""CLI commands on the app (`python -m weixiu <command>`); `db upgrade` comes from Flask-Migrate."""

from __future__ import annotations

import click
from flask import Flask, current_app
from sqlalchemy.exc import IntegrityError

from models import db
from operations.errors import DomainError, InvalidInput

# The CLI options an operation's fields come from, to name them in an error.
OPTION_OF_FIELD = {"name": "--name", "manager_name": "--manager-name", "username": "--username", "mobile": "--mobile"}
CODE_NAMES = {"activation": "激活码", "password_reset": "重置码"}


def fail(error: DomainError | str) -> None:
    """Say what is wrong in Chinese on stderr and stop with a non-zero exit: 2 for bad input (as
    click's own usage errors), 1 for anything refused (taken, not found, already so)."""
    if isinstance(error, InvalidInput):
        for field, reason in error.fields.items():
            click.echo(f"错误：{OPTION_OF_FIELD.get(field, field)}：{reason}", err=True)
        db.session.rollback()
        raise SystemExit(2)
    click.echo(f"错误：{error.message if isinstance(error, DomainError) else error}", err=True)
    db.session.rollback()
    raise SystemExit(1)


def hand_over(issued) -> None:
    """Deliver an account code (console_api.account_code_sms: SMS when it can go) and tell the
    operator: where it went, or the code itself, shown this once, to hand over in person."""
    from console_api.account_code_sms import deliver
    from operations.clock import to_local

    answer = deliver(issued, committed=True)  # committed: a full number is said, not raised
    name = CODE_NAMES[answer["purpose"]]
    until = to_local(issued.expires_at).strftime("%Y-%m-%d %H:%M")
    if answer["sent"]:
        click.echo(f"{answer['message']}（72 小时内有效，至 {until}）")
        return
    if "code" not in answer:  # SMS works but this one did not go: the code goes by SMS or not at all
        click.echo(f"{answer['message']}", err=True)
        raise SystemExit(1)
    click.echo(f"{name} {answer['code']}（72 小时内有效，至 {until}）")
    click.echo(f"  {answer['message']}")
    click.echo(f"  此{name}只显示这一次：本人在电脑端“激活账号”页或小程序中输入{name}，自行设置密码。")


def commit_or_fail() -> None:
    try:
        db.session.commit()
    except IntegrityError:  # a concurrent change took the name, username or mobile first
        fail("名称、用户名或手机号刚被其他操作占用，请换一个再试")


def register_commands(app: Flask) -> None:
    @app.cli.command("load-demo")
    @click.option("--force", is_flag=True, help="Load even if the database already has institutions.")
    def load_demo(force: bool) -> None:
        """Load the demo data of the reference guides (医疗机构测试1, 服务商测试1, 张三 …)."""
        from operations import demo_data

        if not force and not demo_data.database_is_empty():
            click.echo("database already has data; nothing loaded (use --force to add the demo anyway)")
            return
        summary = demo_data.load(current_app.config["SECRET_KEY"])
        db.session.commit()
        click.echo(f"demo data loaded: {summary}")

    @app.cli.command("worker")
    @click.option(
        "--queues",
        "--queue",
        "queues",
        multiple=True,
        help="Queues to listen to, in priority order, comma-separated (default: urgent,minute,bulk).",
    )
    @click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
    @click.option("--simple", is_flag=True, help="Run jobs in this process instead of forking.")
    def worker(queues: tuple[str, ...], burst: bool, simple: bool) -> None:
        """Run an RQ worker with every job inside this app's context.

        It waits for Redis before it starts, and exits with status 1 when its work loop ended
        without being asked to stop (Redis went away under a job): the supervisor starts it again."""
        from redis.exceptions import RedisError

        from jobs.queues import listening_order
        from jobs.runtime import make_worker, wait_for_redis

        try:
            names = listening_order(name.strip() for item in queues for name in item.split(",") if name.strip())
        except ValueError as error:
            raise click.BadParameter(str(error), param_hint="--queues") from None
        app_object = current_app._get_current_object()
        wait_for_redis(app_object)
        worker = make_worker(app_object, names, simple=simple)
        try:
            worker.work(burst=burst, with_scheduler=True)
        except RedisError as error:  # from RQ's last bookkeeping, Redis being away
            click.echo(f"worker stopped: Redis unavailable ({error})", err=True)
            raise SystemExit(1) from None
        if not burst and not worker.asked_to_stop:  # no SIGTERM / SIGINT: its loop failed
            click.echo("worker stopped without being asked to (see the log above)", err=True)
            raise SystemExit(1)

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

    @app.cli.group("institution")
    def institution() -> None:
        """医疗机构: create one with its first equipment manager, list, deactivate, reactivate."""

    @institution.command("create")
    @click.option("--name", required=True, help="医疗机构名称（平台内唯一）")
    @click.option("--manager-name", required=True, help="首位设备科管理员的姓名")
    @click.option("--username", required=True, help="管理员的用户名（平台内唯一）")
    @click.option("--mobile", required=True, help="管理员的手机号（接收激活码）")
    def institution_create(name: str, manager_name: str, username: str, mobile: str) -> None:
        """Create an institution and its first equipment manager, who activates with a code."""
        from operations import institutions

        try:
            created, manager, issued = institutions.create_institution(
                name=name,
                manager_name=manager_name,
                username=username,
                mobile=mobile,
                secret_key=current_app.config["SECRET_KEY"],
            )
        except DomainError as error:
            fail(error)
        commit_or_fail()
        click.echo(
            f"已创建医疗机构“{created.name}”（id {created.id}）及设备科管理员 {manager.display_name}"
            f"（用户名 {manager.username}），账号待激活。"
        )
        hand_over(issued)

    @institution.command("list")
    def institution_list() -> None:
        """Every institution: state, created, equipment managers, devices and active accounts."""
        from operations import institutions
        from operations.clock import to_local

        rows = institutions.list_institutions()
        if not rows:
            click.echo("还没有医疗机构（python -m weixiu institution create …）")
            return
        for row in rows:
            item = row.institution
            state = "启用" if item.is_active else f"已停用（{to_local(item.deactivated_at):%Y-%m-%d %H:%M}）"
            click.echo(
                f"{item.id}\t{item.name}\t{state}\t创建于 {to_local(item.created_at):%Y-%m-%d}"
                f"\t设备 {row.devices}\t账号 {row.users}\t设备科管理员：{'、'.join(row.managers) or '无'}"
            )

    @institution.command("deactivate")
    @click.argument("reference")
    def institution_deactivate(reference: str) -> None:
        """Deactivate (id or name): sign-in, reminders, pushes and vendor access stop; nothing is deleted."""
        from operations import institutions

        try:
            done = institutions.deactivate(institutions.find(reference).id)
        except DomainError as error:
            fail(error)
        commit_or_fail()
        click.echo(
            f"已停用医疗机构“{done.institution.name}”：其人员不能登录，提醒和推送停止，服务商不再可见其设备和工单"
            f"（{done.deliveries_skipped} 条待发送的消息记为未发送）。数据均保留，可随时启用。"
        )

    @institution.command("reactivate")
    @click.argument("reference")
    def institution_reactivate(reference: str) -> None:
        """Reactivate (id or name): sign-in, vendor access and reminders (from the next due one) resume."""
        from operations import institutions

        try:
            done = institutions.reactivate(institutions.find(reference).id)
        except DomainError as error:
            fail(error)
        commit_or_fail()
        click.echo(
            f"已启用医疗机构“{done.institution.name}”：登录、服务商授权和提醒恢复"
            f"（停用期间错过的 {done.days_dropped} 天提醒不再补发）。"
        )

    @app.cli.group("account")
    def account() -> None:
        """Accounts, for the platform operator."""

    @account.command("code")
    @click.argument("username")
    def account_code(username: str) -> None:
        """Issue a new 激活码 (not yet activated) or 重置码 for USERNAME; older codes stop working."""
        from operations import institutions

        try:
            issued = institutions.issue_code_for(username, current_app.config["SECRET_KEY"])
        except DomainError as error:
            fail(error)
        commit_or_fail()
        user, name = issued.user, CODE_NAMES[issued.purpose.value]
        click.echo(f"已为 {user.display_name}（用户名 {user.username}）生成新的{name}，之前的{name}作废。")
        hand_over(issued)

    @app.cli.command("channels")
    def channels() -> None:
        """The outbound channels' state: 暂停 while a provider refuses the account (balance, keys,
        IP whitelist), with the reason and the next try; held messages go once it is back."""
        from operations import channel_states

        for provider, state in channel_states.report().items():
            line = f"{provider}\t{state['label']}\t{state['state_label']}"
            if state["state"] == "down":
                line += f"\t自 {state['since']} 起：{state['reason']}（{state['code']}），下次尝试 {state['until']}"
            click.echo(line)
