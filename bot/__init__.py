"""Sanad's Telegram front end: cited Arabic answers over python-telegram-bot."""
