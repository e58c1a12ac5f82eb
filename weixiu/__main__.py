"""`python -m weixiu embedded` runs the demo; any other arguments go to the app's CLI."""

import sys


def main() -> None:
    if sys.argv[1:2] == ["embedded"]:
        from weixiu.embedded import main as run_embedded

        run_embedded(sys.argv[2:])
        return
    from flask.cli import FlaskGroup

    from weixiu.app import create_app

    FlaskGroup(create_app=lambda: create_app()).main(prog_name="python -m weixiu")


if __name__ == "__main__":
    main()
