"""Rasa input channels: the help page, REST, socket.io for the page's chat widget, WeChat.

These modules are the one place in ``bot/`` that imports Rasa (a channel is a Rasa plug-in
by nature). Protocol helpers that need no Rasa (XML, signatures, option memory, replies)
live in modules of their own so they can be tested without a server.
"""
