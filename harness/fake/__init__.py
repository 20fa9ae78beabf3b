"""The fake ``codex`` executable: replays fixture transcripts, injects faults, records invocations."""
