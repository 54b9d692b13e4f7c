"""The TUI's widgets: repo tree, file detail, budget gauge, chat, status line."""
