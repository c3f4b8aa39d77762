"""Telegram: the bot application, its handlers and reliable digest delivery."""
