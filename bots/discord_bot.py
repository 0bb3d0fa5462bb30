"""bandmate on Discord: slash commands, mentions and DMs, 👍/👎 ratings (discord.py 2.x).

Only non-privileged gateway intents are used: Discord sends message text to a bot
without the Message Content intent for DMs and for messages that mention it,
which are the only messages bandmate answers. Every request is deferred or
acknowledged at once and answered by :class:`bots.adapter.BotCore` in the background.
"""

from __future__ import annotations

import logging

import discord
from discord import app_commands

from assistant.api import Assistant
from bots.adapter import BotCore, ChatRequest, IncomingFile
from bots.commands import (
    analyze_prompt,
    caption_prompt,
    compose_prompt,
    help_text,
    rating_for,
    similar_prompt,
    strip_mentions,
)
from bots.config import BotSettings
from bots.dispatch import Refusal
from bots.loopwatch import LoopWatch
from bots.render import RenderedReply, ServiceLimits

log = logging.getLogger(__name__)
TEXT_LIMIT = 2000  # characters per Discord message
MAX_FILES = 10  # attachments per Discord message


def bot_intents() -> discord.Intents:
    """Servers, their messages, DMs and reactions; no privileged intent."""
    intents = discord.Intents.none()
    intents.guilds = True
    intents.guild_messages = True
    intents.dm_messages = True
    intents.guild_reactions = True
    intents.dm_reactions = True
    return intents


def incoming(attachment: discord.Attachment) -> IncomingFile:
    """A Discord attachment as a file the core can check and download."""
    return IncomingFile(attachment.filename, attachment.size, fetch=lambda path: attachment.save(path))


def _files(rendered: RenderedReply) -> list[discord.File]:
    return [discord.File(u.path, filename=u.filename, description=u.description[:1000] or None)
            for u in rendered.uploads]


def _without_files(text: str, exc: discord.HTTPException) -> str:
    log.warning("file upload failed: %s", exc)
    note = f"\n⚠️ Discord refused the files ({exc.status}); ask me again for them."
    return text[: TEXT_LIMIT - len(note)] + note


class InteractionSurface:
    """A slash command's answer: the deferred response is the progress message, then the answer with files."""

    def __init__(self, interaction: discord.Interaction, limits: ServiceLimits, message_id: int | None = None) -> None:
        self.interaction = interaction
        self.limits = limits
        self.answer_id = str(message_id) if message_id else None

    async def progress(self, text: str) -> None:
        await self.interaction.edit_original_response(content=text)

    async def reply(self, rendered: RenderedReply) -> str | None:
        try:
            message = await self.interaction.edit_original_response(content=rendered.chunks[0],
                                                                    attachments=_files(rendered))
        except discord.HTTPException as exc:  # the words still arrive when the files cannot
            message = await self.interaction.edit_original_response(
                content=_without_files(rendered.chunks[0], exc), attachments=[])
        for chunk in rendered.chunks[1:]:
            await self.interaction.followup.send(chunk)
        return str(message.id)

    async def error(self, text: str) -> None:
        await self.interaction.edit_original_response(content=f"⚠️ {text}", attachments=[])


class MessageSurface:
    """A mention's or DM's answer: a reply that shows progress, then becomes the answer with files."""

    def __init__(self, message: discord.Message, limits: ServiceLimits) -> None:
        self.message = message
        self.limits = limits
        self.posted: discord.Message | None = None

    @property
    def answer_id(self) -> str | None:
        return str(self.posted.id) if self.posted is not None else None

    async def start(self, text: str) -> None:
        """Post the progress message (the acknowledgement)."""
        self.posted = await self.message.reply(text, mention_author=False)

    async def progress(self, text: str) -> None:
        if self.posted is not None:
            await self.posted.edit(content=text)

    async def reply(self, rendered: RenderedReply) -> str | None:
        if self.posted is None:
            self.posted = await self.message.reply("🎵", mention_author=False)
        try:
            self.posted = await self.posted.edit(content=rendered.chunks[0], attachments=_files(rendered))
        except discord.HTTPException as exc:  # the words still arrive when the files cannot
            self.posted = await self.posted.edit(content=_without_files(rendered.chunks[0], exc), attachments=[])
        for chunk in rendered.chunks[1:]:
            await self.message.channel.send(chunk)
        return str(self.posted.id)

    async def error(self, text: str) -> None:
        if self.posted is not None:
            await self.posted.edit(content=f"⚠️ {text}", attachments=[])
        else:
            await self.message.reply(f"⚠️ {text}", mention_author=False)


class DiscordBot(discord.Client):
    """The Discord client: gateway events and slash commands in, :class:`BotCore` requests out."""

    def __init__(self, core: BotCore, settings: BotSettings, **options) -> None:
        super().__init__(intents=bot_intents(), allowed_mentions=discord.AllowedMentions.none(), **options)
        self.core = core
        self.bot_settings = settings
        self.tree = app_commands.CommandTree(self)
        self.watch = LoopWatch()
        _add_commands(self)

    async def setup_hook(self) -> None:
        self.watch.start()
        await self.core.warm_up()
        guild = discord.Object(self.bot_settings.discord_guild_id) if self.bot_settings.discord_guild_id else None
        if guild is not None:
            self.tree.copy_global_to(guild=guild)
        await self.tree.sync(guild=guild)

    async def close(self) -> None:
        await self.watch.stop()
        await super().close()
        self.core.close()

    def limits_for(self, guild: discord.Guild | None, allowed: int | None = None) -> ServiceLimits:
        """Discord's limits here: the smallest of the configured upload size, the server's and what Discord says."""
        upload = self.bot_settings.discord_upload_bytes
        if guild is not None:
            upload = min(upload, guild.filesize_limit)
        if allowed:
            upload = min(upload, allowed)
        return ServiceLimits("Discord", TEXT_LIMIT, upload, MAX_FILES)

    @staticmethod
    def request_for(text: str, channel_id: int, user_id: int, guild_id: int | None, files=()) -> ChatRequest:
        """A request in the memory thread of its channel (a Discord thread is a channel of its own)."""
        scope = f"guild:{guild_id}" if guild_id else f"dm:{user_id}"
        return ChatRequest(text, f"discord:{channel_id}", str(user_id), scope, tuple(files))

    # -- slash commands ---------------------------------------------------------
    async def run_command(self, interaction: discord.Interaction, text: str, *attachments: discord.Attachment) -> None:
        """Check, defer within Discord's 3 seconds, and answer in the background."""
        request = self.request_for(text, interaction.channel_id or 0, interaction.user.id, interaction.guild_id,
                                   [incoming(a) for a in attachments if a is not None])
        verdict = self.core.check(request)
        if isinstance(verdict, Refusal):
            await interaction.response.send_message(verdict.message, ephemeral=True)
            return
        try:
            deferred = await interaction.response.defer(thinking=True)
        except Exception:
            self.core.dispatcher.release(verdict)
            raise
        limits = self.limits_for(interaction.guild, interaction.filesize_limit)
        surface = InteractionSurface(interaction, limits, deferred.message_id if deferred else None)
        self.core.submit(verdict, request, surface)

    # -- conversation -----------------------------------------------------------
    async def on_message(self, message: discord.Message) -> None:
        if message.author.bot or self.user is None:
            return
        if message.guild is not None and not any(u.id == self.user.id for u in message.mentions):
            return
        text = strip_mentions(message.content)
        if not text and not message.attachments:
            await message.reply(help_text(), mention_author=False)
            return
        request = self.request_for(text or "What can you tell me about this file?", message.channel.id,
                                   message.author.id, message.guild.id if message.guild else None,
                                   [incoming(a) for a in message.attachments])
        verdict = self.core.check(request)
        if isinstance(verdict, Refusal):
            await message.reply(verdict.message, mention_author=False)
            return
        surface = MessageSurface(message, self.limits_for(message.guild))
        try:
            await surface.start("🎵 Working on it…")
        except Exception:
            self.core.dispatcher.release(verdict)
            log.exception("could not answer in channel %s", message.channel.id)
            return
        self.core.submit(verdict, request, surface)

    # -- feedback ---------------------------------------------------------------
    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        await self._rate(payload, remove=False)

    async def on_raw_reaction_remove(self, payload: discord.RawReactionActionEvent) -> None:
        await self._rate(payload, remove=True)

    async def _rate(self, payload: discord.RawReactionActionEvent, remove: bool) -> None:
        rating = rating_for(str(payload.emoji))
        if rating is None or (self.user is not None and payload.user_id == self.user.id):
            return
        try:
            await self.core.rate(str(payload.message_id), str(payload.user_id), rating, remove=remove)
        except Exception:
            log.exception("could not store a rating for message %s", payload.message_id)


def _add_commands(bot: DiscordBot) -> None:
    tree = bot.tree

    @tree.command(name="compose", description="Write and produce a song: lyrics, chords, audio, MIDI and a lead sheet.")
    @app_commands.describe(prompt="What the song is about", genre="Genre, e.g. folk or jazz", mood="Mood, e.g. sad or calm")
    async def compose(interaction: discord.Interaction, prompt: str, genre: str | None = None, mood: str | None = None) -> None:
        await bot.run_command(interaction, compose_prompt(prompt, genre, mood))

    @tree.command(name="ask", description="Ask bandmate anything, optionally about an audio or MIDI file.")
    @app_commands.describe(question="Your question", attachment="An audio or MIDI file to ask about")
    async def ask(interaction: discord.Interaction, question: str, attachment: discord.Attachment | None = None) -> None:
        await bot.run_command(interaction, question, *([attachment] if attachment else []))

    @tree.command(name="caption", description="Describe music from a list of tags.")
    @app_commands.describe(tags="Tags separated by commas, e.g. piano, calm, ambient")
    async def caption(interaction: discord.Interaction, tags: str) -> None:
        await bot.run_command(interaction, caption_prompt(tags))

    @tree.command(name="analyze", description="Measure a clip: tempo, key, chords, loudness, drums.")
    @app_commands.describe(attachment="An audio file (WAV, FLAC, OGG, MP3)")
    async def analyze(interaction: discord.Interaction, attachment: discord.Attachment) -> None:
        await bot.run_command(interaction, analyze_prompt(), attachment)

    @tree.command(name="similar", description="Find clips that sound like a description.")
    @app_commands.describe(text="What the music sounds like")
    async def similar(interaction: discord.Interaction, text: str) -> None:
        await bot.run_command(interaction, similar_prompt(text))

    @tree.command(name="help", description="What bandmate can do.")
    async def help_(interaction: discord.Interaction) -> None:
        await interaction.response.send_message(help_text(), ephemeral=True)

    @tree.error
    async def on_error(interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        log.error("slash command failed", exc_info=error)
        text = f"⚠️ Sorry, that didn't work ({type(getattr(error, 'original', error)).__name__}); please try again."
        try:
            if interaction.response.is_done():
                await interaction.followup.send(text, ephemeral=True)
            else:
                await interaction.response.send_message(text, ephemeral=True)
        except discord.HTTPException:
            log.exception("could not report the error")


async def run_discord(token: str, settings: BotSettings, assistant: Assistant) -> None:
    """Serve until the process is stopped."""
    core = BotCore(assistant, settings, "discord")
    async with DiscordBot(core, settings) as bot:
        await bot.start(token)
