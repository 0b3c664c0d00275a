"""Parses an OpenMetrics exposition (standard input) with prometheus_client's
strict OpenMetrics parser and prints its families as one JSON object:
{"families": [{"name", "type", "unit", "samples": [{"name", "labels", "value"}]}]}.
A text the parser rejects exits non-zero with its error on standard error."""

import json
import sys

from prometheus_client.openmetrics.parser import text_string_to_metric_families

families = []
for family in text_string_to_metric_families(sys.stdin.read()):
    families.append(
        {
            "name": family.name,
            "type": family.type,
            "unit": family.unit,
            "samples": [
                {"name": s.name, "labels": s.labels, "value": s.value}
                for s in family.samples
            ],
        }
    )
json.dump({"families": families}, sys.stdout)
