"""Sign-in for PC users: a signed bearer token."""

from flask import current_app, jsonify

from console_api import api
from console_api.http import commit, current_user, error_response, signed_in
from console_api.serializers import user_json
from console_api.validation import Field, parse_body
from operations.accounts import AuthenticationFailed, authenticate, issue_token, sign_out_everywhere

LOGIN_SCHEMA = {
    "username": Field("str", required=True, max_length=50),
    "password": Field("str", required=True, max_length=128),
}


@api.post("/session")
def sign_in():
    body = parse_body(LOGIN_SCHEMA)
    try:
        user = authenticate(body["username"], body["password"])
    except AuthenticationFailed:
        return error_response(401, "unauthorized", "用户名或密码错误")
    token = issue_token(user, current_app.config["SECRET_KEY"])
    return jsonify({"token": token, "user": user_json(user)})


@api.delete("/session")
@signed_in
def sign_out():
    sign_out_everywhere(current_user().id)
    commit()
    return "", 204


@api.get("/me")
@signed_in
def me():
    return jsonify(user_json(current_user()))
