"""
python-threatexchange extension for the Takedown hash list.

Enable it in the CLI with ``threatexchange config extensions add takedown_threatexchange``;
HMA lists :class:`TakedownSignalExchangeAPI` in ``exchange_types``. See README.md.
"""

from threatexchange.extensions.manifest import ThreatExchangeExtensionManifest

from takedown_threatexchange.exchange import (
    TakedownCheckpoint,
    TakedownCollabConfig,
    TakedownCredentials,
    TakedownOpinion,
    TakedownSignalExchangeAPI,
    TakedownSignalMetadata,
    event_id,
)
from takedown_threatexchange.signals import PhotoMD5Signal

__all__ = [
    "TX_MANIFEST",
    "PhotoMD5Signal",
    "TakedownCheckpoint",
    "TakedownCollabConfig",
    "TakedownCredentials",
    "TakedownOpinion",
    "TakedownSignalExchangeAPI",
    "TakedownSignalMetadata",
    "event_id",
]

TX_MANIFEST = ThreatExchangeExtensionManifest(
    signal_types=(PhotoMD5Signal,),
    apis=(TakedownSignalExchangeAPI,),
)
