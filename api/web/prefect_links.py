"""Links from a dossier to its process in the Prefect UI.

Only when ``PREFECT_UI_URL`` is set (``cqp run`` sets it to the local Prefect server it starts);
otherwise the page names the flow and its tag, without a hint meant for the administrator. Two links:

- the flow, found by name on the UI's flows page (``/flows?flows.nameLike=<flow>``);
- the runs of this dossier: the UI's runs page filtered by the tag ``<process>:<id>``
  (``/runs?tag=…``); the runs carry it when ``flows.dispatch`` starts them with that tag.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from certification.settings import get_settings

# Process key (flows.dispatch.PROCESSES) -> name of its Prefect flow.
FLOW_NAMES = {
    "agrement_request": "agrement-request",
    "agrement": "agrement-lifecycle",
    "controle": "controle",
    "vae": "vae",
    "jury": "jury-session",
    "certificate": "certificate",
    "training_session": "training-session",
    "appui": "appui",
}


@dataclass(frozen=True)
class PrefectLinks:
    flow_name: str
    tag: str
    flow_url: str | None
    runs_url: str | None

    @property
    def configured(self) -> bool:
        return self.flow_url is not None


def ui_url() -> str | None:
    value = (get_settings().prefect_ui_url or "").strip().rstrip("/")
    return value if value.startswith(("http://", "https://")) else None


def links(process: str, entity_id: int) -> PrefectLinks:
    flow_name = FLOW_NAMES[process]
    tag = f"{process}:{entity_id}"
    base = ui_url()
    if base is None:
        return PrefectLinks(flow_name, tag, None, None)
    return PrefectLinks(
        flow_name, tag,
        flow_url=f"{base}/flows?{urlencode({'flows.nameLike': flow_name})}",
        runs_url=f"{base}/runs?{urlencode({'tag': tag})}",
    )
