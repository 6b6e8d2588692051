"""N Diagnostics: GetDiagnostics, GetLog and their status notifications (1.6 §4.4, §5.9;
1.6 security whitepaper ed. 2 N01; 2.0.1 N01)."""

from csms.blocks.diagnostics.handlers import DiagnosticsBlock

__all__ = ["DiagnosticsBlock"]
