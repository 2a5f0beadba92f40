"""Ops console: monitoring rollups, alerts, /metrics, the AI-call inspector, annotation queues."""
