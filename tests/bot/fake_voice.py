"""A loopback fake of a Discord voice server: the voice gateway (websocket protocol v8, over
TLS as Discord's is: discord.py always dials wss://) and the UDP endpoint that answers IP
discovery and receives RTP. Every packet is decrypted with the negotiated mode and key as
it arrives, so tests read exactly what listeners would hear.

As strict as Discord where it matters: IDENTIFY must carry the session id from the bot's
VOICE_STATE_UPDATE and the token from its VOICE_SERVER_UPDATE (else close 4004 / 4006),
SELECT_PROTOCOL must come after IDENTIFY (4003), name an offered mode (4016) and the
address IP discovery found; RTP from an ssrc that was not issued is dropped. DAVE, the
end-to-end layer, is negotiated to protocol version 0 (the bot offers 1 through davey).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import ssl
import struct
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import nacl.bindings
import nacl.exceptions
import trustme
from aiohttp import web

# What Discord offers today, best first; discord.py takes the first it supports.
MODES = ["aead_aes256_gcm_rtpsize", "aead_xchacha20_poly1305_rtpsize"]
HEARTBEAT_INTERVAL_MS = 1000
RTP_HEADER_BYTES = 12
DISCOVERY_BYTES = 74
OPUS_SILENCE = b"\xf8\xff\xfe"  # the frames a sender ends a burst with


@dataclass(frozen=True)
class Packet:
    """One RTP packet as the fake heard it, decrypted."""

    arrived: float  # time.monotonic()
    sequence: int
    timestamp: int
    ssrc: int
    opus: bytes


@dataclass
class VoiceSession:
    """What the main gateway issued for one join: the ids IDENTIFY must match."""

    guild_id: str
    user_id: str
    session_id: str
    token: str
    ssrc: int = 0
    mode: str | None = None
    secret_key: bytes = b""
    dave_offered: int | None = None  # max_dave_protocol_version the client sent


@dataclass
class VoiceConnection:
    ws: web.WebSocketResponse
    session: VoiceSession | None = None
    sequence: itertools.count = field(default_factory=lambda: itertools.count(1))


class FakeVoice:
    def __init__(self) -> None:
        self.ca = trustme.CA()
        self._server_ssl = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.ca.issue_cert("127.0.0.1").configure_cert(self._server_ssl)
        self.sessions: dict[str, VoiceSession] = {}  # by token
        self.packets: list[Packet] = []
        self.stray_packets = 0  # unknown ssrc, or not decryptable with the session's key
        self.speaking: list[tuple[int, int]] = []  # (speaking flags, ssrc)
        self.close_codes: list[int | None] = []
        self.heartbeats = 0
        self.resumes = 0
        self.port = 0
        self.udp_port = 0
        self._ssrcs = itertools.count(1001)
        self._connections: list[VoiceConnection] = []
        self._discovered: dict[int, tuple[str, int]] = {}  # ssrc → the client's (ip, port)
        self._runner: web.AppRunner | None = None
        self._udp: asyncio.DatagramTransport | None = None

    def client_ssl(self) -> ssl.SSLContext:
        """A client context that trusts this server's certificate (the bot's connector)."""
        context = ssl.create_default_context()
        self.ca.configure_trust(context)
        return context

    @property
    def endpoint(self) -> str:
        """As VOICE_SERVER_UPDATE gives it: host and port, no scheme."""
        return f"127.0.0.1:{self.port}"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/", self._gateway)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=self._server_ssl)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]
        loop = asyncio.get_running_loop()
        self._udp, _ = await loop.create_datagram_endpoint(lambda: _Udp(self), local_addr=("127.0.0.1", 0))
        self.udp_port = self._udp.get_extra_info("sockname")[1]

    async def stop(self) -> None:
        if self._udp is not None:
            self._udp.close()
        if self._runner is not None:
            await self._runner.cleanup()

    def issue(self, guild_id: str, user_id: str, session_id: str) -> VoiceSession:
        """A join the main gateway answered: the token its VOICE_SERVER_UPDATE carries."""
        session = VoiceSession(guild_id, user_id, session_id, token=os.urandom(8).hex())
        self.sessions[session.token] = session
        return session

    async def close_all(self, code: int) -> None:
        """Close every voice websocket with `code` (4014: disconnected, 4015: server crashed)."""
        for connection in list(self._connections):
            await connection.ws.close(code=code)

    # -- what tests wait on -------------------------------------------------------------
    def audio(self, ssrc: int | None = None) -> list[Packet]:
        """Packets that carried sound (the silence frames that end each burst left out)."""
        return [p for p in self.packets if p.opus != OPUS_SILENCE and (ssrc is None or p.ssrc == ssrc)]

    async def wait_for_audio(self, count: int, timeout: float = 60.0) -> list[Packet]:
        """Until `count` packets of sound have arrived."""
        deadline = time.monotonic() + timeout
        while len(self.audio()) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(self.audio())} of {count} voice packets arrived in {timeout} s")
            await asyncio.sleep(0.02)
        return self.audio()

    async def quiet_for(self, seconds: float, timeout: float = 60.0) -> None:
        """Until no packet has arrived for `seconds`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            last = self.packets[-1].arrived if self.packets else 0.0
            if time.monotonic() - last >= seconds:
                return
            await asyncio.sleep(seconds / 4)
        raise TimeoutError(f"voice packets kept arriving for {timeout} s")

    # -- the voice gateway --------------------------------------------------------------
    async def _gateway(self, request: web.Request) -> web.StreamResponse:
        if request.query.get("v") != "8":
            return web.Response(status=400, text="voice gateway version 8 expected")
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        connection = VoiceConnection(ws)
        self._connections.append(connection)
        await self._send(connection, 8, {"heartbeat_interval": HEARTBEAT_INTERVAL_MS})
        try:
            async for message in ws:
                if message.type == aiohttp.WSMsgType.TEXT:
                    payload = json.loads(message.data)
                    await self._handle(connection, payload["op"], payload.get("d") or {})
        finally:
            self._connections.remove(connection)
            self.close_codes.append(ws.close_code)
        return ws

    async def _send(self, connection: VoiceConnection, op: int, data: dict[str, Any]) -> None:
        await connection.ws.send_json({"op": op, "d": data, "seq": next(connection.sequence)})

    async def _handle(self, connection: VoiceConnection, op: int, data: dict[str, Any]) -> None:
        ws = connection.ws
        if op == 3:  # heartbeat (v8: {t, seq_ack})
            self.heartbeats += 1
            await self._send(connection, 6, {"t": data.get("t")})
        elif op in (0, 7):  # identify, resume
            session = self.sessions.get(data.get("token", ""))
            if session is None or data.get("server_id") != session.guild_id:
                await ws.close(code=4004, message=b"Authentication failed")
                return
            if data.get("session_id") != session.session_id:
                await ws.close(code=4006, message=b"Session no longer valid")
                return
            connection.session = session
            if op == 7:
                self.resumes += 1
                await self._send(connection, 9, {})
                return
            if data.get("user_id") != session.user_id:
                await ws.close(code=4004, message=b"Authentication failed")
                return
            session.dave_offered = data.get("max_dave_protocol_version")
            session.ssrc = next(self._ssrcs)
            ready = {"ssrc": session.ssrc, "ip": "127.0.0.1", "port": self.udp_port, "modes": MODES}
            await self._send(connection, 2, ready | {"experiments": []})
        elif op == 1:  # select protocol
            session = connection.session
            if session is None:
                await ws.close(code=4003, message=b"Not authenticated")
                return
            chosen = data.get("data", {})
            if data.get("protocol") != "udp" or chosen.get("mode") not in MODES:
                await ws.close(code=4016, message=b"Unknown encryption mode")
                return
            if self._discovered.get(session.ssrc) != (chosen.get("address"), chosen.get("port")):
                await ws.close(code=4016, message=b"Address is not what IP discovery found")
                return
            session.mode, session.secret_key = chosen["mode"], os.urandom(32)
            description = {
                "mode": session.mode,
                "secret_key": list(session.secret_key),
                "dave_protocol_version": 0,
                "audio_codec": "opus",
                "media_session_id": os.urandom(8).hex(),
            }
            await self._send(connection, 4, description)
        elif op == 5:  # speaking
            self.speaking.append((data.get("speaking"), data.get("ssrc")))

    # -- the UDP endpoint ---------------------------------------------------------------
    def _datagram(self, data: bytes, address: tuple[str, int], transport: asyncio.DatagramTransport) -> None:
        if len(data) == DISCOVERY_BYTES and data[:2] == b"\x00\x01":
            ssrc = struct.unpack_from(">I", data, 4)[0]
            if not any(s.ssrc == ssrc for s in self.sessions.values()):
                return
            self._discovered[ssrc] = address
            answer = bytearray(DISCOVERY_BYTES)
            struct.pack_into(">HHI", answer, 0, 2, 70, ssrc)
            answer[8 : 8 + len(address[0])] = address[0].encode()
            struct.pack_into(">H", answer, DISCOVERY_BYTES - 2, address[1])
            transport.sendto(bytes(answer), address)
            return
        packet = self._decrypt(data)
        if packet is None:
            self.stray_packets += 1
            return
        self.packets.append(packet)

    def _decrypt(self, data: bytes) -> Packet | None:
        if len(data) < RTP_HEADER_BYTES + 4 or data[0] != 0x80 or data[1] != 0x78:
            return None
        sequence, timestamp, ssrc = struct.unpack_from(">HII", data, 2)
        session = next((s for s in self.sessions.values() if s.ssrc == ssrc and s.secret_key), None)
        if session is None or session.mode != "aead_xchacha20_poly1305_rtpsize":
            return None
        header, body, nonce = data[:RTP_HEADER_BYTES], data[RTP_HEADER_BYTES:-4], data[-4:]
        try:
            opus = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_decrypt(
                body, header, nonce + bytes(20), session.secret_key
            )
        except nacl.exceptions.CryptoError:
            return None
        return Packet(time.monotonic(), sequence, timestamp, ssrc, opus)


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, voice: FakeVoice) -> None:
        self.voice = voice
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, address: tuple[str, int]) -> None:
        self.voice._datagram(data, address, self.transport)
