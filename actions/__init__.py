"""Custom actions for the bureau assistant: thin orchestration over the bot/ library."""
