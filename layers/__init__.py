"""The one blueprint (一张蓝图): layer catalogue, import and storage."""
