"""Odoo (ERP) connector: polls Odoo's external JSON-RPC API.

Reads ``res.partner``, ``sale.order`` (with its ``sale.order.line`` rows),
``stock.picking`` and ``account.move`` by ``write_date`` and publishes them to
``raw.<instance>.{res_partner,sale_order,stock_picking,account_move}``; the translator
turns them into customer, order, shipment, invoice and payment events. What of the API is
used, and the documentation it follows, is in ``connectors/odoo/README.md``;
:mod:`connectors.odoo.emulator` is a local stand-in for tests and the demo company.
"""

from connectors.kit.registry import ConnectorType
from connectors.odoo.settings import OdooSettings
from connectors.odoo.source import OdooSource
from connectors.odoo.translate import translate

CONNECTOR = ConnectorType(
    name="odoo",
    settings_model=OdooSettings,
    source=OdooSource,
    translate=translate,
    description="Odoo ERP over JSON-RPC: partners, sales orders, deliveries, invoices",
)

__all__ = ["CONNECTOR", "OdooSettings", "OdooSource", "translate"]
