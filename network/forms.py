"""Dashboard forms. They only shape input; validation of model ranges happens in the services."""

from __future__ import annotations

from django import forms

from network.models import Cell, InjectionKind, Site


class CellForm(forms.ModelForm):
    class Meta:
        model = Cell
        fields = ("name", "band", "bandwidth_mhz", "scenario", "x_m", "y_m", "height_m", "tx_power_dbm",
                  "antenna_gain_dbi", "base_load", "background_users", "max_layers", "data_gain_db")


class SiteForm(forms.ModelForm):
    class Meta:
        model = Site
        fields = ("name", "kind", "x_m", "y_m", "height_m", "indoor", "mobility", "route_radius_m", "speed_kmh",
                  "traffic_profile", "backhaul_ms", "sla_latency_p95_ms", "sla_throughput_mbps")


class InjectionForm(forms.Form):
    kind = forms.ChoiceField(choices=InjectionKind.choices)
    cell = forms.ModelChoiceField(queryset=Cell.objects.none(), required=False,
                                  help_text="Load surge, interference and outage act on a cell.")
    site = forms.ModelChoiceField(queryset=Site.objects.none(), required=False,
                                  help_text="Backhaul and rain fade act on one site (all sites if empty); "
                                            "out of coverage needs a site.")
    magnitude = forms.FloatField(required=False, help_text="Load surge: added load 0-1 · interference: dB over "
                                 "thermal · backhaul: added ms · rain: mm/h · out of coverage: metres moved. "
                                 "Empty = a sensible default.")
    loss_pct = forms.FloatField(required=False, initial=0.0, label="Added loss (%)",
                                help_text="Backhaul degradation only.")
    note = forms.CharField(required=False, max_length=200)

    def __init__(self, *args, store=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["cell"].queryset = Cell.objects.for_store(store)
        self.fields["site"].queryset = Site.objects.for_store(store)


class SimulationControlForm(forms.Form):
    action = forms.ChoiceField(choices=[("pause", "Pause"), ("resume", "Resume"), ("speed", "Set speed")])
    speed = forms.FloatField(required=False, min_value=0.1, max_value=100.0)
