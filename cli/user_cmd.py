"""`streetwatch user add`: create an account (password from stdin or a prompt)."""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

from sqlalchemy.orm import Session

from api.security import hash_password
from cli.common import add_storage_args, open_storage
from pipeline.errors import InputError
from pipeline.store import users

MIN_PASSWORD = 8


def register(sub: Any) -> None:
    p = sub.add_parser("user", help="manage API user accounts")
    actions = p.add_subparsers(dest="user_command", required=True, metavar="ACTION")
    add = actions.add_parser("add", help="create a user")
    add.add_argument("username")
    add.add_argument("--role", required=True, choices=users.ROLES)
    add.add_argument("--team", help="team name (required for patrol users)")
    add.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    add_storage_args(add)
    add.set_defaults(func=add_user)


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise InputError("the passwords differ")
    return first


def add_user(args: argparse.Namespace) -> int:
    password = _password(args.password_stdin)
    if len(password) < MIN_PASSWORD:
        raise InputError(f"password too short: use at least {MIN_PASSWORD} characters")
    storage = open_storage(args.data_dir)
    with Session(storage.engine) as session, session.begin():
        try:
            users.create_user(session, args.username, hash_password(password), args.role, args.team)
        except users.UserError as exc:
            raise InputError(str(exc)) from None
    print(f"user {args.username} ({args.role}) created")
    return 0
