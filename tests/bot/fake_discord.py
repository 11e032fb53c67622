"""A loopback fake of the Discord gateway (websocket) and REST API, enough for an
unmodified discord.py client to log in, receive slash-command interactions and answer.

Tests inject interactions as the gateway would send them and assert on the REST calls
the bot made (see ../shared/DISCORD-OFFLINE.md for the protocol facts used here).

As strict as Discord where it matters: content over 2,000 characters → 400 / 50035,
uploads over the interaction's `attachment_size_limit` → 413 / 40005, a sixth followup
where only the user installed the app (a DM, a server without the bot) → 400 / 40094, a
second acknowledgement → 400 / 40060, an expired interaction token → 404 / 10062; and
tests can inject any error (status, code, headers) into the next matching calls with
`fail_next`.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import discord
import discord.gateway
import discord.http
import yarl
from aiohttp import web

from bot import create_bot
from bot.client import BalladeerBot
from bot.config import Settings
from tests.bot.fake_voice import FakeVoice

APPLICATION_ID = "111111111111111111"
BOT_ID = "222222222222222222"
GUILD_ID = "333333333333333333"  # on shard 0 of 2: (id >> 22) % 2 == 0
CHANNEL_ID = "444444444444444444"
SECOND_GUILD_ID = str(int(GUILD_ID) + (1 << 22))  # on shard 1 of 2
SECOND_CHANNEL_ID = "444444444444444445"
CHANNELS = {GUILD_ID: CHANNEL_ID, SECOND_GUILD_ID: SECOND_CHANNEL_ID}
AGE_RESTRICTED_CHANNEL_ID = "444444444444444446"  # in GUILD_ID, marked nsfw
SHARDS_RECOMMENDED = 2  # what GET /gateway/bot answers
DM_CHANNEL_ID = "555555555555555555"
OTHER_GUILD_ID = "777777777777777777"  # a server that has not added the bot (user installs)
OTHER_CHANNEL_ID = "777777777777777778"
VOICE_CHANNEL_ID = "666666666666666661"  # voice channels of GUILD_ID
SECOND_VOICE_CHANNEL_ID = "666666666666666662"
STAGE_CHANNEL_ID = "666666666666666663"
CLOSED_VOICE_CHANNEL_ID = "666666666666666664"  # the bot may neither connect nor speak there
CONNECT, SPEAK, MOVE_MEMBERS, ADMINISTRATOR = 0x100000, 0x200000, 0x1000000, 0x8
EPHEMERAL = 64
HEARTBEAT_INTERVAL_MS = 250  # short, so a blocked event loop shows up at once
CONTENT_LIMIT = 2000
DEFAULT_UPLOAD_LIMIT = 10 * 1024 * 1024
USER_INSTALL_FOLLOWUP_LIMIT = 5
ALL_PERMISSIONS = 2147483647
MEMBER_PERMISSIONS = 0x400 | 0x800 | 0x8000 | 0x80000000  # view, send, attach, use commands

_snowflakes = itertools.count(900000000000000000)


def snowflake() -> str:
    return str(next(_snowflakes))


def user(user_id: str, name: str) -> dict[str, Any]:
    return {"id": user_id, "username": name, "discriminator": "0", "avatar": None, "global_name": name}


BOT_USER = {**user(BOT_ID, "Balladeer"), "bot": True}


@dataclass
class Call:
    """One REST request the bot made."""

    method: str
    path: str
    json: Any = None
    files: dict[str, bytes] = field(default_factory=dict)
    at: float = field(default_factory=time.monotonic)
    message: dict | None = None  # the message object the fake answered with, if any


@dataclass
class Interaction:
    id: str
    token: str
    sent_at: float
    upload_limit: int = DEFAULT_UPLOAD_LIMIT
    # Discord allows an app only 5 followups to an interaction when the app is installed by
    # the user alone there (a DM, or a server that never added it); None: no such limit.
    followup_limit: int | None = None
    followups_sent: int = 0


@dataclass(frozen=True)
class FakeFile:
    """A file a user attaches to a slash command; the fake serves it from its CDN route.

    The CDN can misbehave as real ones do: answer `status` instead of the file, stall for
    `stall_seconds` before the body, or serve `served` (say, 50 MB) while the attachment
    declares the size of `data`."""

    filename: str
    data: bytes
    status: int = 200
    stall_seconds: float = 0.0
    served: bytes | None = None


@dataclass
class Failure:
    """An error the fake answers the next `times` calls matching `method` and `path_contains` with."""

    method: str
    path_contains: str
    status: int
    code: int
    times: int = 1
    headers: dict[str, str] = field(default_factory=dict)
    retry_after: float | None = None


class FakeDiscord:
    def __init__(self, ack_deadline: float | None = None, voice: bool = False) -> None:
        # Discord's 3 s to acknowledge an interaction; None: not enforced, so tests on a
        # busy machine do not rest on timing unless the deadline is what they test.
        self.ack_deadline = ack_deadline
        self.calls: list[Call] = []
        self.heartbeats: list[float] = []
        self.messages: dict[str, dict] = {}
        self.synced_commands: list[dict] = []
        self._shards: dict[int, web.WebSocketResponse] = {}  # shard id → its connection
        self._shard_total = 1
        self.identifies: list[list[int] | None] = []  # the `shard` field of every IDENTIFY
        self._sequence = itertools.count(1)
        self._changed = asyncio.Condition()
        self._identified = asyncio.Event()
        self.close_codes: list[int | None] = []
        self._runner: web.AppRunner | None = None
        self.port = 0
        self.failures: list[Failure] = []
        self.uploads: dict[str, FakeFile] = {}  # what users attached, by CDN key
        self.cdn_requests: list[str] = []  # CDN keys the bot fetched
        self.errors_sent: list[tuple[Call, int, int]] = []  # (call, status, code) refused
        self._interactions: dict[str, Interaction] = {}  # by token
        self._acknowledged: set[str] = set()
        self._expired: set[str] = set()
        self._gateway_refused = False
        # Voice: a voice server, who sits in which voice channel, and the bot's op 4 requests.
        self.voice = FakeVoice() if voice else None
        self.voice_states: dict[str, str] = {}  # user id → voice channel id (in GUILD_ID)
        self.voice_requests: list[str | None] = []  # the channel of each op 4 the bot sent
        self._voice_sessions = itertools.count(1)

    # -- server lifecycle --------------------------------------------------------------
    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/", self._gateway)
        app.router.add_route("*", "/api/v10/{tail:.*}", self._rest)
        app.router.add_get("/cdn/{key}", self._cdn)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]
        if self.voice is not None:
            await self.voice.start()

    async def stop(self) -> None:
        if self.voice is not None:
            await self.voice.stop()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def rest_base(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/"

    def point_discord_py_here(self) -> list[tuple[object, str, Any]]:
        """Aim discord.py's class-level endpoints at this server; returns what to restore."""
        saved = [
            (discord.http.Route, "BASE", discord.http.Route.BASE),
            (
                discord.gateway.DiscordWebSocket,
                "DEFAULT_GATEWAY",
                discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY,
            ),
        ]
        discord.http.Route.BASE = self.rest_base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(self.gateway_url)
        return saved

    @asynccontextmanager
    async def serving(self, settings: Settings, **client_options: Any) -> AsyncIterator[BalladeerBot]:
        """This fake started, discord.py aimed at it, and the real bot logged in and ready;
        everything stopped and restored afterwards (the bot's `start` must end cleanly)."""
        await self.start()
        saved = self.point_discord_py_here()
        if self.voice is not None:  # voice is wss://: the bot trusts the fake's certificate
            client_options["connector"] = aiohttp.TCPConnector(ssl=self.voice.client_ssl())
        bot = create_bot(settings, guild_ready_timeout=0.05, **client_options)
        runner = asyncio.create_task(bot.start("test-token"))
        try:
            await asyncio.wait_for(bot.wait_until_ready(), 20)
            yield bot
        finally:
            if not bot.is_closed():
                await bot.close()
            assert await runner is None
            for owner, name, value in saved:
                setattr(owner, name, value)
            await self.stop()

    # -- gateway ----------------------------------------------------------------------
    async def gateway_down(self) -> None:
        """A gateway outage: every connection closed, new ones refused until `gateway_up`."""
        self._gateway_refused = True
        for ws in list(self._shards.values()):
            await ws.close(code=1001)

    def gateway_up(self) -> None:
        self._gateway_refused = False

    async def _gateway(self, request: web.Request) -> web.StreamResponse:
        """One gateway connection: a whole bot, or one shard [i, n] of a sharded one."""
        if self._gateway_refused:
            return web.Response(status=503)
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        shard_id = 0
        await ws.send_json({"op": 10, "d": {"heartbeat_interval": HEARTBEAT_INTERVAL_MS}})
        async for message in ws:
            if message.type != aiohttp.WSMsgType.TEXT:
                continue
            payload = json.loads(message.data)
            op = payload["op"]
            if op == 1:
                self.heartbeats.append(time.monotonic())
                await ws.send_json({"op": 11})
            elif op == 2:
                shard = payload["d"].get("shard")
                self.identifies.append(shard)
                shard_id, self._shard_total = shard or (0, 1)
                self._shards[shard_id] = ws
                guilds = [g for g in CHANNELS if self.shard_of(g) == shard_id]
                await self._dispatch("READY", self._ready(guilds, shard), shard_id)
                for guild_id in guilds:
                    await self._dispatch("GUILD_CREATE", self._guild(guild_id), shard_id)
                self._identified.set()
            elif op == 6:
                self._shards[shard_id] = ws
                await self._dispatch("RESUMED", {}, shard_id)
            elif op == 4:
                await self._voice_state_request(payload["d"], shard_id)
        self.close_codes.append(ws.close_code)
        return ws

    def shard_of(self, guild_id: str | None) -> int:
        """Discord's rule: a guild lives on shard (id >> 22) % shards; DMs arrive on shard 0."""
        return 0 if guild_id is None else (int(guild_id) >> 22) % self._shard_total

    async def _dispatch(self, event: str, data: dict, shard_id: int = 0) -> None:
        await self._shards[shard_id].send_json({"op": 0, "t": event, "s": next(self._sequence), "d": data})

    def _ready(self, guilds: list[str], shard: list[int] | None) -> dict:
        ready = {
            "v": 10,
            "user": BOT_USER,
            "session_id": "fake-session",
            "resume_gateway_url": self.gateway_url,
            "guilds": [{"id": g, "unavailable": True} for g in guilds],
            "application": {"id": APPLICATION_ID, "flags": 0},
        }
        return ready | ({"shard": shard} if shard else {})

    def _guild(self, guild_id: str) -> dict:
        return {
            "id": guild_id,
            "name": "Test Server",
            "owner_id": "1",
            "member_count": 3,
            "large": False,
            "features": [],
            "emojis": [],
            "stickers": [],
            "roles": [_everyone_role()],
            "channels": [
                {
                    "id": CHANNELS[guild_id],
                    "type": 0,
                    "name": "songs",
                    "position": 0,
                    "guild_id": guild_id,
                    "permission_overwrites": [],
                },
                {
                    "id": AGE_RESTRICTED_CHANNEL_ID,
                    "type": 0,
                    "name": "explicit-songs",
                    "position": 1,
                    "guild_id": guild_id,
                    "nsfw": True,
                    "permission_overwrites": [],
                },
            ][: 2 if guild_id == GUILD_ID else 1]
            + (_voice_channels() if guild_id == GUILD_ID else []),
            "members": [_member(BOT_USER)]
            + (
                [_member(user(u, f"user{u}")) for u in self.voice_states if u != BOT_ID]
                if guild_id == GUILD_ID
                else []
            ),
            "threads": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
            "voice_states": (
                [_voice_state(u, c, f"session-{u}") for u, c in self.voice_states.items()]
                if guild_id == GUILD_ID
                else []
            ),
            "presences": [],
        }

    # -- voice --------------------------------------------------------------------------
    async def join_voice(self, user_id: str, channel_id: str | None = VOICE_CHANNEL_ID) -> None:
        """A member joins (or, with None, leaves) a voice channel of GUILD_ID."""
        if channel_id is None:
            self.voice_states.pop(user_id, None)
        else:
            self.voice_states[user_id] = channel_id
        state = _voice_state(user_id, channel_id, f"session-{user_id}")
        await self._dispatch("VOICE_STATE_UPDATE", state | {"guild_id": GUILD_ID}, self.shard_of(GUILD_ID))

    async def _voice_state_request(self, data: dict, shard_id: int) -> None:
        """The bot's op 4: as Discord does, its VOICE_STATE_UPDATE (with a fresh session id)
        first, then VOICE_SERVER_UPDATE with a token and an endpoint without a scheme."""
        guild_id = str(data["guild_id"])  # discord.py sends ids as integers here
        channel_id = None if data["channel_id"] is None else str(data["channel_id"])
        self.voice_requests.append(channel_id)
        session_id = f"voice-session-{next(self._voice_sessions)}"
        if channel_id is None:
            self.voice_states.pop(BOT_ID, None)
        else:
            self.voice_states[BOT_ID] = channel_id
        state = _voice_state(BOT_ID, channel_id, session_id, member=BOT_USER)
        await self._dispatch("VOICE_STATE_UPDATE", state | {"guild_id": guild_id}, shard_id)
        if channel_id is not None and self.voice is not None:
            session = self.voice.issue(guild_id, BOT_ID, session_id)
            server = {"token": session.token, "guild_id": guild_id, "endpoint": self.voice.endpoint}
            await self._dispatch("VOICE_SERVER_UPDATE", server, shard_id)

    async def wait_ready(self) -> None:
        await asyncio.wait_for(self._identified.wait(), 10)

    # -- injecting interactions --------------------------------------------------------------
    async def slash(
        self,
        name: str,
        user_id: str = "1",
        user_name: str = "alice",
        dm: bool = False,
        upload_limit: int = DEFAULT_UPLOAD_LIMIT,
        raw_options: list[dict] | None = None,
        guild_id: str = GUILD_ID,
        nsfw: bool = False,
        permissions: int = ALL_PERMISSIONS,
        thread: bool = False,
        **options: Any,
    ) -> Interaction:
        """A slash command; `raw_options` sends option objects as given (e.g. mistyped); a
        FakeFile value is an attachment option, resolved as Discord does. `thread`: sent in
        a thread of the (age-restricted, with `nsfw`) channel, which carries no nsfw flag."""
        data: dict[str, Any] = {"id": snowflake(), "name": name, "type": 1}
        resolved: dict[str, dict] = {}
        built = []
        for key, value in options.items():
            if isinstance(value, FakeFile):
                attachment_id = snowflake()
                self.uploads[attachment_id] = value
                url = f"http://127.0.0.1:{self.port}/cdn/{attachment_id}"
                resolved[attachment_id] = {
                    "id": attachment_id,
                    "filename": value.filename,
                    "size": len(value.data),
                    "url": url,
                    "proxy_url": url,
                    "content_type": "audio/midi",
                }
                built.append({"name": key, "type": 11, "value": attachment_id})
            else:
                built.append(_option(key, value))
        data["options"] = raw_options if raw_options is not None else built
        if resolved:
            data["resolved"] = {"attachments": resolved}
        return await self._interact(
            2,
            data,
            user_id,
            user_name,
            dm,
            upload_limit=upload_limit,
            guild_id=guild_id,
            nsfw=nsfw,
            permissions=permissions,
            thread=thread,
        )

    def user_message(self, files: list[FakeFile], content: str = "", user_id: str = "2") -> dict:
        """A message a user posted in the test channel with `files` attached (served by the CDN)."""
        attachments = []
        for file in files:
            key = snowflake()
            self.uploads[key] = file
            url = f"http://127.0.0.1:{self.port}/cdn/{key}"
            attachments.append(
                {"id": key, "filename": file.filename, "size": len(file.data), "url": url, "proxy_url": url}
            )
        message = self._message({"content": content}, {}, ephemeral=False)
        message |= {"author": user(user_id, f"user{user_id}"), "attachments": attachments}
        return message

    async def message_command(
        self, name: str, message: dict, user_id: str = "1", user_installed: bool = False
    ) -> Interaction:
        """A message context-menu command on `message`, as Discord sends it (type 3 command,
        the message in `resolved`)."""
        data = {
            "id": snowflake(),
            "name": name,
            "type": 3,
            "target_id": message["id"],
            "resolved": {"messages": {message["id"]: message}},
        }
        guild_id = OTHER_GUILD_ID if user_installed else GUILD_ID
        return await self._interact(2, data, user_id, "alice", False, guild_id=guild_id)

    def fail_next(self, failure: Failure) -> None:
        self.failures.append(failure)

    def expire(self, interaction: Interaction) -> None:
        """Its token is past Discord's 15 minutes: every call with it gets 404 / 10062."""
        self._expired.add(interaction.token)

    async def autocomplete(self, command: str, option: str, typed: str, user_id: str = "1") -> Interaction:
        data = {
            "id": snowflake(),
            "name": command,
            "type": 1,
            "options": [{"name": option, "type": 3, "value": typed, "focused": True}],
        }
        return await self._interact(4, data, user_id, "alice", False)

    async def click(
        self, message: dict, label: str, user_id: str = "1", user_name: str = "alice"
    ) -> Interaction:
        """Click the button labelled `label` under `message`, as it was sent."""
        buttons = [c for row in message["components"] for c in row["components"]]
        (custom_id,) = [b["custom_id"] for b in buttons if b.get("label") == label]
        data = {"custom_id": custom_id, "component_type": 2}
        return await self._interact(3, data, user_id, user_name, False, message=message)

    async def _interact(
        self,
        kind: int,
        data: dict,
        user_id: str,
        user_name: str,
        dm: bool,
        message: dict | None = None,
        upload_limit: int = DEFAULT_UPLOAD_LIMIT,
        guild_id: str = GUILD_ID,
        nsfw: bool = False,
        permissions: int = ALL_PERMISSIONS,
        thread: bool = False,
    ) -> Interaction:
        interaction = Interaction(snowflake(), f"token-{snowflake()}", time.monotonic(), upload_limit)
        if dm or guild_id not in CHANNELS:
            interaction.followup_limit = USER_INSTALL_FOLLOWUP_LIMIT
        self._interactions[interaction.token] = interaction
        payload: dict[str, Any] = {
            "id": interaction.id,
            "application_id": APPLICATION_ID,
            "type": kind,
            "token": interaction.token,
            "version": 1,
            "attachment_size_limit": upload_limit,
            "data": data,
            "app_permissions": "2147483647",
            "locale": "en-US",
            "entitlements": [],
        }
        if dm:
            payload |= {
                "channel_id": DM_CHANNEL_ID,
                "channel": {"id": DM_CHANNEL_ID, "type": 1, "recipients": [user(user_id, user_name)]},
                "user": user(user_id, user_name),
                "authorizing_integration_owners": {"1": user_id},
                "context": 1,
            }
        else:
            # A guild the bot is not in: the command comes from a user's own install of the app.
            channel_id = AGE_RESTRICTED_CHANNEL_ID if nsfw else CHANNELS.get(guild_id, OTHER_CHANNEL_ID)
            channel = {
                "id": channel_id,
                "type": 0,
                "name": "songs",
                "position": 0,
                "guild_id": guild_id,
                "nsfw": nsfw,  # age-restricted
            }
            if thread:  # Discord sends a thread without nsfw: its parent's flag holds
                channel = {
                    "id": snowflake(),
                    "type": 11,
                    "name": "a thread",
                    "guild_id": guild_id,
                    "parent_id": channel_id,
                    "owner_id": user_id,
                    "member_count": 1,
                    "message_count": 1,
                    "thread_metadata": {
                        "archived": False,
                        "auto_archive_duration": 1440,
                        "archive_timestamp": "2024-01-01T00:00:00+00:00",
                        "locked": False,
                    },
                }
            payload |= {
                "guild_id": guild_id,
                "channel_id": channel["id"],
                "channel": channel,
                "member": {
                    "user": user(user_id, user_name),
                    "roles": [],
                    "flags": 0,
                    "joined_at": "2024-01-01T00:00:00+00:00",
                    "permissions": str(permissions),  # what the member may do in this channel
                    "deaf": False,
                    "mute": False,
                },
                "authorizing_integration_owners": (
                    {"0": guild_id} if guild_id in CHANNELS else {"1": user_id}
                ),
                "context": 0,
            }
        if message is not None:
            payload["message"] = message
        shard = self.shard_of(None if dm or guild_id not in CHANNELS else guild_id)
        await self._dispatch("INTERACTION_CREATE", payload, shard)
        return interaction

    async def _cdn(self, request: web.Request) -> web.StreamResponse:
        key = request.match_info["key"]
        self.cdn_requests.append(key)
        upload = self.uploads.get(key)
        if upload is None or upload.status == 404:
            return web.Response(status=404)
        if upload.status != 200:
            return web.Response(status=upload.status)
        await asyncio.sleep(upload.stall_seconds)
        body = upload.data if upload.served is None else upload.served
        response = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
        await response.prepare(request)  # chunked, no length: the size is known only by reading
        try:
            for start in range(0, len(body), 64 * 1024):
                await response.write(body[start : start + 64 * 1024])
            await response.write_eof()
        except ConnectionResetError:  # the bot stopped reading: what a real CDN sees too
            pass
        return response

    # -- REST --------------------------------------------------------------------------
    async def _rest(self, request: web.Request) -> web.Response:
        path = "/" + request.match_info["tail"]
        call = Call(request.method, path)
        if request.content_type == "multipart/form-data":
            form = await request.post()
            for key, value in form.items():
                if key == "payload_json":
                    call.json = json.loads(value)
                else:
                    call.files[value.filename] = value.file.read()
        elif request.can_read_body:
            call.json = await request.json()
        self.calls.append(call)
        response = self._refusal(call) or self._answer(call)
        async with self._changed:
            self._changed.notify_all()
        return response

    def _refusal(self, call: Call) -> web.Response | None:
        """Discord's answer when it would refuse this call, else None."""
        for failure in self.failures:
            if failure.times > 0 and failure.method == call.method and failure.path_contains in call.path:
                failure.times -= 1
                body: dict[str, Any] = {"message": f"injected {failure.status}", "code": failure.code}
                if failure.retry_after is not None:
                    body |= {"retry_after": failure.retry_after, "global": False}
                return self._error(call, failure.status, failure.code, body, failure.headers)
        token = _token_in(call.path)
        if token is None:
            return None
        interaction = self._interactions.get(token)
        late = (
            self.ack_deadline is not None
            and interaction is not None
            and call.path.endswith("/callback")
            and call.at - interaction.sent_at > self.ack_deadline
        )
        if token in self._expired or late:  # late: "The application did not respond"
            return self._error(call, 404, 10062, {"message": "Unknown interaction", "code": 10062})
        body = call.json or {}
        content = (
            (body.get("data") or {}).get("content")
            if call.path.endswith("/callback")
            else body.get("content")
        )
        if content and len(content) > CONTENT_LIMIT:
            errors = {
                "content": {
                    "_errors": [
                        {"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 2000 or fewer in length."}
                    ]
                }
            }
            return self._error(
                call, 400, 50035, {"message": "Invalid Form Body", "code": 50035, "errors": errors}
            )
        limit = interaction.upload_limit if interaction else DEFAULT_UPLOAD_LIMIT
        if sum(len(blob) for blob in call.files.values()) > limit:
            return self._error(call, 413, 40005, {"message": "Request entity too large", "code": 40005})
        if interaction is not None and call.method == "POST" and call.path.startswith("/webhooks/"):
            limit = interaction.followup_limit
            if limit is not None and interaction.followups_sent >= limit:
                message = "This interaction has hit the maximum number of follow up messages"
                return self._error(call, 400, 40094, {"message": message, "code": 40094})
            interaction.followups_sent += 1
        if call.path.endswith("/callback"):
            if token in self._acknowledged:
                return self._error(
                    call, 400, 40060, {"message": "Interaction has already been acknowledged.", "code": 40060}
                )
            self._acknowledged.add(token)
        return None

    def _error(
        self, call: Call, status: int, code: int, body: dict, headers: dict[str, str] | None = None
    ) -> web.Response:
        self.errors_sent.append((call, status, code))
        response = _json(body, status=status)
        response.headers.update(headers or {})
        return response

    def _answer(self, call: Call) -> web.Response:
        path, method = call.path, call.method
        if path == "/users/@me":
            return _json(BOT_USER)
        if path == "/gateway/bot":
            limit = {"total": 1000, "remaining": 1000, "reset_after": 0, "max_concurrency": 1}
            return _json(
                {"url": self.gateway_url, "shards": SHARDS_RECOMMENDED, "session_start_limit": limit}
            )
        if path == "/oauth2/applications/@me":
            return _json(
                {
                    "id": APPLICATION_ID,
                    "name": "Balladeer",
                    "description": "",
                    "icon": None,
                    "bot_public": True,
                    "bot_require_code_grant": False,
                    "owner": user("1", "owner"),
                    "verify_key": "0" * 64,
                    "flags": 0,
                }
            )
        if path.endswith("/commands") and method == "PUT":
            self.synced_commands = [
                # Discord gives context menus an empty description
                {"description": "", **c, "id": snowflake(), "application_id": APPLICATION_ID, "version": "1"}
                for c in call.json
            ]
            return _json(self.synced_commands)
        if path.startswith("/interactions/") and path.endswith("/callback"):
            interaction_id = path.split("/")[2]
            body = call.json or {}
            data = body.get("data") or {}
            message = self._message(data, call.files, ephemeral=bool(data.get("flags", 0) & EPHEMERAL))
            return _json(
                {
                    "interaction": {
                        "id": interaction_id,
                        "type": 2,
                        "response_message_id": message["id"],
                        "response_message_loading": body.get("type") == 5,
                        "response_message_ephemeral": bool(data.get("flags", 0) & EPHEMERAL),
                    },
                    "resource": {"type": body.get("type"), "message": message},
                }
            )
        if path.startswith("/webhooks/"):
            if method == "DELETE":
                return web.Response(status=204)
            body = call.json or {}
            message_id = path.rsplit("/", 1)[-1]
            if method == "PATCH" and message_id in self.messages:  # an edit of a sent message
                edited = self.messages[message_id]
                edited |= {k: body[k] for k in ("content", "components") if k in body}
                call.message = edited
                return _json(edited)
            call.message = self._message(body, call.files, bool(body.get("flags", 0) & EPHEMERAL))
            return _json(call.message)
        return _json({"message": f"fake Discord has no route {method} {path}", "code": 0}, status=404)

    def _message(self, data: dict, files: dict[str, bytes], ephemeral: bool) -> dict:
        attachments = []
        for name, blob in files.items():  # served by the CDN, as a user's would be
            key = snowflake()
            self.uploads[key] = FakeFile(name, blob)
            url = f"http://127.0.0.1:{self.port}/cdn/{key}"
            attachments.append({"id": key, "filename": name, "size": len(blob), "url": url, "proxy_url": url})
        message = {
            "id": snowflake(),
            "channel_id": CHANNEL_ID,
            "type": 0,
            "content": data.get("content") or "",
            "author": BOT_USER,
            "attachments": attachments,
            "embeds": [],
            "mentions": [],
            "mention_roles": [],
            "pinned": False,
            "mention_everyone": False,
            "tts": False,
            "timestamp": "2024-01-01T00:00:00+00:00",
            "edited_timestamp": None,
            "flags": EPHEMERAL if ephemeral else 0,
            "components": data.get("components", []),
        }
        self.messages[message["id"]] = message
        return message

    # -- assertions helpers -----------------------------------------------------------------
    def calls_for(self, interaction: Interaction) -> list[Call]:
        return [c for c in self.calls if interaction.id in c.path or interaction.token in c.path]

    async def wait_for(self, predicate, timeout: float = 30.0) -> Call:
        """The first call (past or future) matching `predicate`."""
        deadline = time.monotonic() + timeout
        async with self._changed:
            while True:
                for call in self.calls:
                    if predicate(call):
                        return call
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError("the bot never made the expected REST call")
                try:
                    await asyncio.wait_for(self._changed.wait(), remaining)
                except TimeoutError:
                    continue

    async def followups(self, interaction: Interaction, count: int = 1, timeout: float = 30.0) -> list[Call]:
        """Wait for `count` followup messages sent for this interaction."""

        def sent() -> list[Call]:
            return [
                c
                for c in self.calls
                if c.method == "POST" and c.path.startswith("/webhooks/") and interaction.token in c.path
            ]

        await self.wait_for(lambda _: len(sent()) >= count, timeout)
        return sent()

    async def callback(self, interaction: Interaction, timeout: float = 10.0) -> Call:
        return await self.wait_for(
            lambda c: c.path == f"/interactions/{interaction.id}/{interaction.token}/callback", timeout
        )

    async def private_answer(self, interaction: Interaction) -> str:
        """The text only the user saw: the first answer, or the first followup after a
        deferral (asserted private either way)."""
        answer = await self.callback(interaction)
        if answer.json["type"] != 4:
            (answer,) = await self.followups(interaction)
        data = answer.json.get("data", answer.json)
        assert data["flags"] & EPHEMERAL, "the answer was public"
        return data["content"]


def _option(name: str, value: Any) -> dict:
    kind = (
        5
        if isinstance(value, bool)
        else 4
        if isinstance(value, int)
        else 10
        if isinstance(value, float)
        else 3
    )
    return {"name": name, "type": kind, "value": value}


def _token_in(path: str) -> str | None:
    """The interaction token in an interaction callback or webhook path, if any."""
    parts = path.split("/")
    if path.startswith("/interactions/") and len(parts) > 3:
        return parts[3]
    if path.startswith("/webhooks/") and len(parts) > 3:
        return parts[3]
    return None


def _everyone_role() -> dict:
    return {
        "id": GUILD_ID,
        "name": "@everyone",
        "permissions": str(ALL_PERMISSIONS & ~ADMINISTRATOR),  # channel overwrites apply
        "position": 0,
        "color": 0,
        "hoist": False,
        "managed": False,
        "mentionable": False,
        "flags": 0,
    }


def _member(account: dict) -> dict:
    return {
        "user": account,
        "roles": [],
        "flags": 0,
        "joined_at": "2024-01-01T00:00:00+00:00",
        "deaf": False,
        "mute": False,
    }


def _voice_state(user_id: str, channel_id: str | None, session_id: str, member: dict | None = None) -> dict:
    return {
        "user_id": user_id,
        "channel_id": channel_id,
        "session_id": session_id,
        "deaf": False,
        "mute": False,
        "self_deaf": user_id == BOT_ID,
        "self_mute": False,
        "self_video": False,
        "suppress": False,
        "request_to_speak_timestamp": None,
        "member": _member(member or user(user_id, f"user{user_id}")),
    }


def _voice_channels() -> list[dict]:
    def channel(channel_id: str, name: str, kind: int = 2, overwrites: list | None = None) -> dict:
        return {
            "id": channel_id,
            "type": kind,
            "name": name,
            "position": 2,
            "guild_id": GUILD_ID,
            "bitrate": 64000,
            "user_limit": 0,
            "rtc_region": None,
            "permission_overwrites": overwrites or [],
        }

    no_entry = [{"id": GUILD_ID, "type": 0, "allow": "0", "deny": str(CONNECT | SPEAK)}]
    return [
        channel(VOICE_CHANNEL_ID, "Listening room"),
        channel(SECOND_VOICE_CHANNEL_ID, "Second room"),
        channel(STAGE_CHANNEL_ID, "Stage", kind=13),
        channel(CLOSED_VOICE_CHANNEL_ID, "Closed room", overwrites=no_entry),
    ]


def _json(data: Any, status: int = 200) -> web.Response:
    # discord.py wants exactly application/json (json_response adds a charset).
    return web.Response(body=json.dumps(data).encode(), status=status, content_type="application/json")
