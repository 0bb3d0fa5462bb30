"""bandmate's chat front ends: Discord (discord.py) and Slack (slack-bolt) over one shared adapter.

``bots.adapter`` is the request -> assistant -> reply path both services share
(it imports neither service's library); ``bots.discord_bot`` and
``bots.slack_bot`` translate events and replies; ``cli.bots`` adds
``bandmate serve discord|slack``.
"""
